#!/usr/bin/env bash
# Starts a single-node Slurm on this machine: munged for authentication, slurmctld as the
# controller and slurmd as the one compute node, with as many CPUs and as much memory as the
# machine has. For CI and for trying the cluster examples of docs/cluster.md; stop it with
# scripts/cluster/stop-slurm.sh. Needs root and the Debian packages slurmctld, slurmd,
# slurm-client and munge.
set -euo pipefail

node=$(hostname -s)
cpus=$(nproc)
# Slurm refuses a job that asks for more memory than the node declares: declare what is
# there, less a little for the system.
memory_mb=$(( $(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) - 512 ))

install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
fi
if ! pgrep -x munged >/dev/null; then
    runuser -u munge -- /usr/sbin/munged
fi

install -d -o slurm -g slurm /var/spool/slurmctld /var/log/slurm
install -d /var/spool/slurmd /etc/slurm
cat >/etc/slurm/slurm.conf <<CONF
ClusterName=switchboard
SlurmctldHost=${node}
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# No cgroups in a container: processes are tracked by their parent, tasks not confined.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
NodeName=${node} CPUs=${cpus} RealMemory=${memory_mb} State=UNKNOWN
PartitionName=switchboard Nodes=${node} Default=YES MaxTime=INFINITE State=UP
CONF

pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
pgrep -x slurmd >/dev/null || /usr/sbin/slurmd

# Ready when the node takes jobs.
for _ in $(seq 1 60); do
    if sinfo --noheader --nodes="${node}" --format=%t 2>/dev/null | grep -Eq '^(idle|mix|alloc)'; then
        exit 0
    fi
    sleep 0.5
done
echo "slurm did not come up; its logs:" >&2
tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
