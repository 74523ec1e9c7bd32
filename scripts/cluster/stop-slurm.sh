#!/usr/bin/env bash
# Stops what scripts/cluster/start-slurm.sh started: slurmd, slurmctld and munged, each by the
# process id it recorded.
set -uo pipefail
for pid_file in /run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid; do
    if [ -s "$pid_file" ]; then
        pid=$(cat "$pid_file")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 20); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
    fi
done
