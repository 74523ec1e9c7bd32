//! The simulator's model of the sentiment escalation: with `negative_sentiment = p`, a share p
//! of a stream's contacts carries `sentiment = "negative"`, and a `[[rule]]` routes exactly
//! those to the senior queue, so the senior queue is offered p of the stream.
//!
//! The seed is fixed; the tolerance is the 99.9 % confidence interval of the replications.

use switchboard_results::{Estimate, Metric};
use switchboard_sim::metrics::Scope;
use switchboard_sim::run::{model_from_text, RunOptions, RunResult};

fn simulate(negative_sentiment: Option<f64>) -> RunResult {
    let key = negative_sentiment
        .map(|share| format!("negative_sentiment = {share}"))
        .unwrap_or_default();
    let text = format!(
        r#"
[scenario]
name = "sentiment"
seed = 20261203
duration = "4h"
interval = "1h"
replications = 12

[[rule]]
name = "anxious-customer-upgraded"
when = {{ attribute = "sentiment", equals = "negative" }}
queues = ["general"]
route_to = "senior"

[[queue]]
name = "general"
channel = "chat"
skills = ["chat"]

[[queue]]
name = "senior"
channel = "chat"
skills = ["chat"]

[[traffic]]
queue = "general"
rate = "600/h"
{key}
handle_time = {{ dist = "exponential", mean = "4m" }}

[[agents]]
name = "team"
count = 60
skills = ["chat"]
"#
    );
    let model = model_from_text(&text).expect("a valid scenario");
    let result = switchboard_sim::run(&model, &RunOptions::default(), &|_| {}).unwrap();
    assert_eq!(result.summary.rejected_inputs, 0);
    result
}

fn offered(result: &RunResult, queue: usize) -> Vec<f64> {
    let scope = result
        .scopes
        .iter()
        .position(|scope| *scope == Scope::Queue(queue))
        .expect("a scope per queue");
    result.values(scope, Metric::Offered)
}

#[test]
fn the_senior_queue_is_offered_the_modelled_share_of_the_stream() {
    let share = 0.15;
    let result = simulate(Some(share));
    let general = offered(&result, 0);
    let senior = offered(&result, 1);
    let fractions: Vec<f64> = general
        .iter()
        .zip(&senior)
        .map(|(general, senior)| senior / (general + senior))
        .collect();
    let estimate = Estimate::with_confidence(fractions, 0.999);
    let [low, high] = estimate.ci95.expect("enough replications");
    assert!(
        low <= share && share <= high,
        "senior share {:.4} with 99.9 % interval [{low:.4}, {high:.4}], modelled {share}",
        estimate.mean.unwrap()
    );
    assert!(
        high - low < 0.05,
        "interval [{low}, {high}] too wide to tell"
    );
    // The whole stream is still offered: about 600/h for 4 h.
    let total: f64 = general.iter().zip(&senior).map(|(a, b)| a + b).sum::<f64>() / 12.0;
    assert!((2_200.0..2_600.0).contains(&total), "{total}");
}

#[test]
fn without_the_key_nothing_is_routed_and_the_stream_is_unchanged() {
    let without = simulate(None);
    assert!(offered(&without, 1).iter().all(|offered| *offered == 0.0));
    let zero = simulate(Some(0.0));
    // No draw is made at 0: the same contacts arrive, with the same figures.
    assert_eq!(offered(&without, 0), offered(&zero, 0));
}

#[test]
fn a_share_outside_zero_to_one_is_refused() {
    let problem = model_from_text(
        "[scenario]\nduration = \"1h\"\n[[queue]]\nname = \"q\"\nchannel = \"chat\"\n\
         [[traffic]]\nqueue = \"q\"\nrate = \"10/h\"\nnegative_sentiment = 1.5\n\
         handle_time = { dist = \"exponential\", mean = \"1m\" }\n\
         [[agents]]\nname = \"a\"\ncount = 1\n",
    )
    .unwrap_err()
    .to_string();
    // Line 9 is the `negative_sentiment` key.
    assert!(
        problem.contains(":9:1: expected a probability between 0 and 1, found 1.5"),
        "{problem}"
    );
}
