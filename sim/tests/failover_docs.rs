//! Every TOML example of `docs/failover.md` is tested: complete examples compile and run with
//! a fault played, fragments (```` ```toml fragment ````) parse.

use switchboard_sim::run::{model_from_text, RunOptions};

const FAILOVER_DOC: &str = include_str!("../../docs/failover.md");

fn toml_blocks() -> Vec<(bool, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(bool, String)> = None;
    for line in FAILOVER_DOC.lines() {
        match current.as_mut() {
            None => {
                if let Some(info) = line.strip_prefix("```toml") {
                    current = Some((!info.contains("fragment"), String::new()));
                }
            }
            Some((_, text)) => {
                if line.starts_with("```") {
                    blocks.extend(current.take());
                } else {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
    }
    blocks
}

#[test]
fn every_example_of_the_failover_guide_reads_and_the_complete_ones_run() {
    let blocks = toml_blocks();
    assert!(blocks.iter().filter(|(complete, _)| *complete).count() >= 1);
    assert!(blocks.iter().filter(|(complete, _)| !*complete).count() >= 2);
    for (complete, text) in blocks {
        if !complete {
            text.parse::<toml::Table>()
                .unwrap_or_else(|error| panic!("{error}\n{text}"));
            continue;
        }
        let model = model_from_text(&text).unwrap_or_else(|error| panic!("{error}\n{text}"));
        let options = RunOptions {
            check_invariants: true,
            threads: 2,
            ..RunOptions::default()
        };
        let result = switchboard_sim::run(&model, &options, &|_| {}).unwrap();
        for output in &result.failover_outputs {
            let outcome = &output.outcomes[0];
            assert_eq!(
                outcome.lost_queued + outcome.lost_callbacks,
                0,
                "sync loses nothing"
            );
            assert_eq!(outcome.taken_over, outcome.waiting_at_site);
        }
        let outcome = &result.failover_outputs[0].outcomes[0];
        if model.topology.as_ref().unwrap().faults[0].fences() {
            // Conversations continue at the fenced side; nothing it held is answered from
            // the other side while it is fenced.
            assert_eq!(outcome.dropped, 0);
            assert_eq!(outcome.answered_across_partition, 0);
            let waiting: u64 = result
                .failover_outputs
                .iter()
                .map(|output| output.outcomes[0].waiting_at_site)
                .sum();
            assert!(waiting > 0, "the fenced side held waiting contacts");
        } else {
            assert!(outcome.dropped > 0, "the example's outage drops calls");
        }
    }
}

#[test]
fn the_fragments_use_only_documented_keys() {
    // The fragments together, under a scenario, are a valid topology with faults.
    let fragments: String = toml_blocks()
        .into_iter()
        .filter(|(complete, _)| !complete)
        .map(|(_, text)| text)
        .collect();
    let text = format!(
        "[scenario]\nduration = \"4h\"\n\n[[site]]\nname = \"dc-north\"\n\n[[site]]\nname = \"dc-south\"\n\n[[queue]]\nname = \"q\"\nchannel = \"voice\"\nskills = [\"s\"]\n\n[[agents]]\nname = \"a\"\ncount = 2\nskills = [\"s\"]\nsite = \"dc-north\"\n\n{fragments}\n[[topology.site]]\nname = \"dc-south\"\n\n[[agents]]\nname = \"north-retail\"\ncount = 1\nskills = [\"s\"]\nsite = \"dc-north\"\n"
    );
    let model = model_from_text(&text).unwrap_or_else(|error| panic!("{error}\n{text}"));
    let topology = model.topology.unwrap();
    assert_eq!(topology.faults.len(), 3);
    assert!(topology.faults[2].fences(), "the partition fragment fences");
    assert!(
        topology
            .chaos
            .iter()
            .any(|rate| rate.policy == Some(switchboard_sim::topology::PartitionPolicy::Fence)),
        "the chaos fragment's partitions fence"
    );
    assert_eq!(topology.group_backups, vec![None, Some(1)]);
    assert_eq!(
        topology.chaos.len(),
        5,
        "every kind of fault has a documented chaos rate"
    );
}
