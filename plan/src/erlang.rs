//! Erlang B (loss), Erlang C (M/M/n, nobody abandons) and Erlang A (M/M/n+M, exponential
//! patience), exact and stable from one agent to hundreds of thousands.
//!
//! Formulas and their derivations are in `docs/models.md`. Every computation runs in O(n) for
//! the Erlang B recurrence plus, for Erlang A, a sum over queue lengths whose length grows
//! like the square root of the load; no factorial or power is ever formed directly.

use serde::{Serialize, Serializer};

use crate::special::{ln_normal_density, ln_normal_upper_tail, ln_scaled_lower_gamma};

/// Offered traffic: how often contacts arrive and how long each keeps an agent busy.
///
/// ```
/// use switchboard_plan::erlang::Workload;
/// // 100 calls per 30 minutes, 180 s each: 10 erlangs.
/// let workload = Workload::new(100.0 / 1800.0, 180.0);
/// assert!((workload.offered_load_erlangs() - 10.0).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Workload {
    /// Mean arrivals per second (Poisson).
    pub arrival_rate_per_s: f64,
    /// Mean handle time in seconds (exponential in the models).
    pub handle_time_s: f64,
}

impl Workload {
    /// A workload; the rate must be finite and not negative, the handle time finite and
    /// positive (callers validate user input before this point).
    pub fn new(arrival_rate_per_s: f64, handle_time_s: f64) -> Self {
        assert!(
            arrival_rate_per_s.is_finite() && arrival_rate_per_s >= 0.0,
            "an arrival rate is finite and not negative"
        );
        assert!(
            handle_time_s.is_finite() && handle_time_s > 0.0,
            "a handle time is finite and positive"
        );
        Workload {
            arrival_rate_per_s,
            handle_time_s,
        }
    }

    /// Offered load in erlangs: arrival rate × handle time.
    pub fn offered_load_erlangs(self) -> f64 {
        self.arrival_rate_per_s * self.handle_time_s
    }
}

/// Writes infinite or undefined values as JSON `null` rather than failing.
fn finite_or_null<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.is_finite() {
        serializer.serialize_f64(*value)
    } else {
        serializer.serialize_none()
    }
}

/// `ln B(lines, load)`, the log of the Erlang B blocking probability, by the recurrence
/// `1/B(k) = 1 + (k / load) · 1/B(k − 1)`, `1/B(0) = 1`.
///
/// Every operation adds or multiplies positive numbers, so the relative error grows at most
/// linearly with `lines` (about 1e-11 at 100,000 lines). The running value is rescaled when it
/// grows large, which keeps the log exact where B itself would underflow.
pub fn ln_erlang_b(lines: u64, load_erlangs: f64) -> f64 {
    assert!(
        load_erlangs > 0.0 && load_erlangs.is_finite(),
        "Erlang B needs a finite, positive load, got {load_erlangs}"
    );
    const RESCALE_ABOVE: f64 = 1e250;
    const RESCALE_BY: f64 = 1e-250;
    let ln_rescale = -RESCALE_BY.ln();
    let inverse_load = 1.0 / load_erlangs;
    // inverse_blocking · e^{ln_scale} is 1/B(k); `one` is 1 in the same scale.
    let mut inverse_blocking = 1.0;
    let mut one = 1.0;
    let mut ln_scale = 0.0;
    let mut k = 0.0;
    for _ in 0..lines {
        k += 1.0;
        inverse_blocking = one + k * inverse_load * inverse_blocking;
        if inverse_blocking > RESCALE_ABOVE {
            inverse_blocking *= RESCALE_BY;
            one *= RESCALE_BY;
            ln_scale += ln_rescale;
        }
    }
    -(inverse_blocking.ln() + ln_scale)
}

/// Erlang B: a loss system with `lines` servers and no queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErlangB {
    /// Lines (trunks, servers).
    pub lines: u64,
    /// Offered load in erlangs.
    pub offered_load_erlangs: f64,
    /// Probability that an arriving contact finds every line busy and is lost.
    pub blocking: f64,
    /// Load actually carried: offered × (1 − blocking).
    pub carried_load_erlangs: f64,
}

/// Erlang B for a workload and a number of lines.
pub fn erlang_b(workload: Workload, lines: u64) -> ErlangB {
    let load = workload.offered_load_erlangs();
    let blocking = if load == 0.0 {
        0.0
    } else {
        ln_erlang_b(lines, load).exp()
    };
    debug_assert!((0.0..=1.0).contains(&blocking), "blocking is a probability");
    ErlangB {
        lines,
        offered_load_erlangs: load,
        blocking,
        carried_load_erlangs: load * (1.0 - blocking),
    }
}

/// The fewest lines whose blocking does not exceed `max_blocking` (in (0, 1]).
pub fn minimum_lines(workload: Workload, max_blocking: f64) -> ErlangB {
    assert!(
        max_blocking > 0.0 && max_blocking <= 1.0,
        "a blocking target is a probability above zero"
    );
    let load = workload.offered_load_erlangs();
    if load == 0.0 {
        return erlang_b(workload, 0);
    }
    // Walk the recurrence B(k) = load·B(k−1) / (k + load·B(k−1)) upwards and stop at the first
    // line count that meets the target; blocking falls strictly with every added line.
    let mut blocking = 1.0_f64;
    let mut lines = 0_u64;
    while blocking > max_blocking {
        lines += 1;
        blocking = blocking * load / (lines as f64 + blocking * load);
    }
    erlang_b(workload, lines)
}

/// Erlang C (M/M/n): contacts wait as long as it takes; nobody abandons.
///
/// With `agents ≤ offered load` the queue grows without bound: `unstable` is true, every
/// contact waits (`p_wait = 1`), the service level is 0, the average speed of answer is
/// infinite (written as `null` in JSON) and occupancy is 1.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErlangC {
    /// Agents.
    pub agents: u64,
    /// Offered load in erlangs.
    pub offered_load_erlangs: f64,
    /// True when agents do not exceed the offered load, so no steady state exists.
    pub unstable: bool,
    /// Probability that an arriving contact waits (the Erlang C formula).
    pub p_wait: f64,
    /// Service-level threshold in seconds.
    pub target_s: f64,
    /// Fraction of contacts answered within `target_s`.
    pub service_level: f64,
    /// Average speed of answer: mean wait in queue over all contacts, in seconds.
    #[serde(serialize_with = "finite_or_null")]
    pub asa_s: f64,
    /// Fraction of agent time spent handling contacts.
    pub occupancy: f64,
}

/// Erlang C for `agents` agents and a service-level threshold of `target_s` seconds.
pub fn erlang_c(workload: Workload, agents: u64, target_s: f64) -> ErlangC {
    assert!(
        target_s >= 0.0 && target_s.is_finite(),
        "a target is a finite, non-negative time"
    );
    let load = workload.offered_load_erlangs();
    let agents_f64 = agents as f64;
    if load == 0.0 {
        return ErlangC {
            agents,
            offered_load_erlangs: load,
            unstable: false,
            p_wait: 0.0,
            target_s,
            service_level: 1.0,
            asa_s: 0.0,
            occupancy: 0.0,
        };
    }
    if agents_f64 <= load {
        return ErlangC {
            agents,
            offered_load_erlangs: load,
            unstable: true,
            p_wait: 1.0,
            target_s,
            service_level: 0.0,
            asa_s: f64::INFINITY,
            occupancy: 1.0,
        };
    }
    let utilisation = load / agents_f64;
    let blocking = ln_erlang_b(agents, load).exp();
    // C = B / (1 − ρ(1 − B)), written as a sum of two positive terms so nothing cancels.
    let p_wait = blocking / ((1.0 - utilisation) + utilisation * blocking);
    let spare_agents = agents_f64 - load;
    let service_level = 1.0 - p_wait * (-spare_agents * target_s / workload.handle_time_s).exp();
    let asa_s = p_wait * workload.handle_time_s / spare_agents;
    debug_assert!((0.0..=1.0).contains(&p_wait), "P(wait) is a probability");
    debug_assert!(
        (0.0..=1.0).contains(&service_level),
        "service level is a fraction"
    );
    ErlangC {
        agents,
        offered_load_erlangs: load,
        unstable: false,
        p_wait,
        target_s,
        service_level,
        asa_s,
        occupancy: utilisation,
    }
}

/// Erlang A (M/M/n+M): as Erlang C, but each waiting contact abandons after an exponential
/// patience with mean `patience_s`. Always has a steady state, also with fewer agents than
/// the offered load.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErlangA {
    /// Agents.
    pub agents: u64,
    /// Offered load in erlangs.
    pub offered_load_erlangs: f64,
    /// Mean patience in seconds.
    pub patience_s: f64,
    /// Probability that an arriving contact has to wait.
    pub p_wait: f64,
    /// Probability that an arriving contact abandons before being answered.
    pub p_abandon: f64,
    /// Service-level threshold in seconds.
    pub target_s: f64,
    /// Answered within `target_s` / offered (abandoned contacts count as misses).
    pub service_level_offered: f64,
    /// Answered within `target_s` / answered (abandoned contacts are left out).
    pub service_level_answered: f64,
    /// Average speed of answer over answered contacts, in seconds.
    #[serde(serialize_with = "finite_or_null")]
    pub asa_s: f64,
    /// Mean time in queue over all offered contacts, answered or abandoned, in seconds.
    pub mean_wait_s: f64,
    /// Fraction of agent time spent handling contacts (answered load / agents).
    pub occupancy: f64,
}

/// Sums over the number `m` of contacts already waiting, weighted by the stationary
/// probability of that queue relative to "all agents busy, nobody waiting".
struct QueueSums {
    /// `ln Σ_m t_m`, where `t_m = Π_{j=1..m} x / (a + j)`.
    ln_total: f64,
    /// `Σ_{m≥1} t_m / Σ_m t_m`.
    nonempty_share: f64,
    /// `Σ_m m t_m / Σ_m t_m`: mean queue length seen by an arrival that waits.
    mean_queue_ahead: f64,
    /// `Σ_m t_m · a/(a+m+1) · H_m / Σ_m t_m` with `H_m = Σ_{j=1..m+1} 1/(a+j)`: θ times the mean
    /// wait of a waiting arrival, counted only if it is answered.
    answered_wait_times_theta: f64,
}

/// `a` is agents·μ/θ and `x` is λ/θ (both dimensionless).
fn queue_sums(a: f64, x: f64) -> QueueSums {
    const RESCALE_ABOVE: f64 = 1e250;
    const RESCALE_BY: f64 = 1e-250;
    const TOLERANCE: f64 = 1e-17;
    let mut term = 1.0_f64; // t_m
    let mut total = 1.0_f64; // Σ t_m
    let mut nonempty = 0.0_f64; // Σ_{m≥1} t_m
    let mut queue = 0.0_f64; // Σ m t_m
    let mut harmonic = 1.0 / (a + 1.0); // H_m
    let mut answered_wait = a / (a + 1.0) * harmonic; // Σ t_m a/(a+m+1) H_m
    let mut ln_scale = 0.0_f64;
    // Terms rise while a + m < x and then fall off like a Gaussian of width √x: this bound
    // only catches a logic error.
    let iteration_limit = (x - a).max(0.0) as u64 + (20.0 * (x + a).sqrt()) as u64 + 1_000;
    for step in 1..=iteration_limit {
        let m = step as f64;
        let ratio = x / (a + m);
        term *= ratio;
        total += term;
        nonempty += term;
        queue += m * term;
        harmonic += 1.0 / (a + m + 1.0);
        answered_wait += term * a / (a + m + 1.0) * harmonic;
        if term > RESCALE_ABOVE {
            term *= RESCALE_BY;
            total *= RESCALE_BY;
            nonempty *= RESCALE_BY;
            queue *= RESCALE_BY;
            answered_wait *= RESCALE_BY;
            ln_scale -= RESCALE_BY.ln();
        }
        let next_ratio = x / (a + m + 1.0);
        if next_ratio < 1.0 {
            // Later ratios are smaller still, so the tails are geometric-bounded.
            let geometric = next_ratio / (1.0 - next_ratio);
            let tail_total = term * geometric;
            let tail_queue = term * (m + 1.0) * geometric / (1.0 - next_ratio);
            let tail_answered_wait =
                term * (harmonic * geometric + geometric / ((1.0 - next_ratio) * (a + m + 1.0)));
            if tail_total <= TOLERANCE * total
                && tail_queue <= TOLERANCE * queue
                && tail_answered_wait <= TOLERANCE * answered_wait
            {
                return QueueSums {
                    ln_total: total.ln() + ln_scale,
                    nonempty_share: nonempty / total,
                    mean_queue_ahead: queue / total,
                    answered_wait_times_theta: answered_wait / total,
                };
            }
        }
    }
    panic!("the Erlang A queue sums did not converge for a = {a}, x = {x}");
}

/// Erlang A for `agents ≥ 1` agents (0 only without traffic), mean patience `patience_s > 0` and a service-level
/// threshold of `target_s` seconds.
pub fn erlang_a(workload: Workload, agents: u64, patience_s: f64, target_s: f64) -> ErlangA {
    assert!(
        patience_s > 0.0 && patience_s.is_finite(),
        "mean patience is finite and positive (infinite patience is Erlang C)"
    );
    assert!(
        target_s >= 0.0 && target_s.is_finite(),
        "a target is a finite, non-negative time"
    );
    let load = workload.offered_load_erlangs();
    assert!(
        agents >= 1 || load == 0.0,
        "Erlang A with traffic needs one agent or more"
    );
    if load == 0.0 {
        return ErlangA {
            agents,
            offered_load_erlangs: 0.0,
            patience_s,
            p_wait: 0.0,
            p_abandon: 0.0,
            target_s,
            service_level_offered: 1.0,
            service_level_answered: 1.0,
            asa_s: 0.0,
            mean_wait_s: 0.0,
            occupancy: 0.0,
        };
    }
    let agents_f64 = agents as f64;
    let abandon_rate_per_s = 1.0 / patience_s;
    let service_rate_per_s = 1.0 / workload.handle_time_s;
    let a = agents_f64 * service_rate_per_s / abandon_rate_per_s;
    let x = workload.arrival_rate_per_s / abandon_rate_per_s;

    // Stationary weights relative to π_n (all agents busy, empty queue):
    // below n: Σ_{k<n} π_k/π_n = n / (load · B(n − 1, load)); at or above n: Σ_m t_m.
    let ln_below = (agents_f64 / load).ln() - ln_erlang_b(agents - 1, load);
    let sums = queue_sums(a, x);
    let p_wait = 1.0 / (1.0 + (ln_below - sums.ln_total).exp());

    // Given a wait: P(abandon) = E[queue ahead]/x and P(answered) = a·(share of m ≥ 1)/x;
    // both are sums of positive terms, so neither is found by subtracting from one.
    let p_abandon_given_wait = sums.mean_queue_ahead / x;
    let p_answered_given_wait = a * sums.nonempty_share / x;
    debug_assert!(
        (p_abandon_given_wait + p_answered_given_wait - 1.0).abs() < 1e-9,
        "a waiting contact is either answered or abandons"
    );

    // Among waiting contacts that are answered, the share still waiting at the threshold is
    // F = γ(a+1, x·u) / γ(a+1, x) with u = e^{−θT} (docs/models.md).
    let theta_target = abandon_rate_per_s * target_s;
    let late_share_given_answered = if target_s == 0.0 {
        1.0
    } else {
        let u = (-theta_target).exp();
        // ln of Σ_k x^k / ((a+1)⋯(a+1+k)) is ln((Σ_{m≥1} t_m) / x).
        let ln_scaled_at_x = (sums.nonempty_share).ln() + sums.ln_total - x.ln();
        let ln_scaled_at_threshold = ln_scaled_lower_gamma(a + 1.0, x * u);
        (ln_scaled_at_threshold - ln_scaled_at_x - (a + 1.0) * theta_target
            + x * -(-theta_target).exp_m1())
        .exp()
        .min(1.0)
    };
    let answered_within_target_given_wait =
        p_answered_given_wait * (1.0 - late_share_given_answered);

    let p_abandon = p_wait * p_abandon_given_wait;
    let p_answered = (1.0 - p_wait) + p_wait * p_answered_given_wait;
    let service_level_offered = (1.0 - p_wait) + p_wait * answered_within_target_given_wait;
    let service_level_answered = service_level_offered / p_answered;
    let asa_s = p_wait * sums.answered_wait_times_theta * patience_s / p_answered;
    // Little's law on the queue: E[queue] = λ·E[wait], and abandonments leave at θ·E[queue].
    let mean_wait_s = p_abandon * patience_s;
    let occupancy = load * p_answered / agents_f64;

    debug_assert!((0.0..=1.0).contains(&p_wait), "P(wait) is a probability");
    debug_assert!(
        (0.0..=1.0 + 1e-12).contains(&p_answered),
        "P(answered) is a probability"
    );
    ErlangA {
        agents,
        offered_load_erlangs: load,
        patience_s,
        p_wait,
        p_abandon,
        target_s,
        service_level_offered: service_level_offered.clamp(0.0, 1.0),
        service_level_answered: service_level_answered.clamp(0.0, 1.0),
        asa_s,
        mean_wait_s,
        occupancy: occupancy.min(1.0),
    }
}

/// A quick square-root-staffing (QED regime) approximation, labelled as such wherever it is
/// shown: never a substitute for the exact formulas above.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SquareRootApproximation {
    /// Which approximation: "Halfin-Whitt" (Erlang C) or "Garnett-Mandelbaum-Reiman"
    /// (Erlang A).
    pub approximation: &'static str,
    /// Agents.
    pub agents: u64,
    /// Safety staffing β = (agents − load) / √load.
    pub beta: f64,
    /// The approximate probability of waiting.
    pub p_wait: f64,
}

/// Halfin–Whitt: `P(wait) ≈ 1 / (1 + β Φ(β) / φ(β))` for `agents = load + β √load`, β > 0.
pub fn halfin_whitt(workload: Workload, agents: u64) -> SquareRootApproximation {
    let load = workload.offered_load_erlangs();
    assert!(load > 0.0, "the approximation needs a positive load");
    let beta = (agents as f64 - load) / load.sqrt();
    let p_wait = if beta <= 0.0 {
        1.0
    } else {
        // Φ(β)/φ(β) = (1 − tail(β)) / φ(β), computed through logs so that a large β gives
        // P(wait) → 0 rather than an overflow.
        let ln_ratio = (-ln_normal_upper_tail(beta).exp()).ln_1p() - ln_normal_density(beta);
        1.0 / (1.0 + beta * ln_ratio.exp())
    };
    SquareRootApproximation {
        approximation: "Halfin-Whitt",
        agents,
        beta,
        p_wait,
    }
}

/// Garnett–Mandelbaum–Reiman: `P(wait) ≈ 1 / (1 + √(θ/μ) · h(β √(μ/θ)) / h(−β))` with
/// `h(z) = φ(z) / (1 − Φ(z))` the hazard rate of the standard normal.
pub fn garnett_mandelbaum_reiman(
    workload: Workload,
    agents: u64,
    patience_s: f64,
) -> SquareRootApproximation {
    let load = workload.offered_load_erlangs();
    assert!(load > 0.0, "the approximation needs a positive load");
    assert!(patience_s > 0.0, "mean patience is positive");
    let beta = (agents as f64 - load) / load.sqrt();
    let theta_over_mu = workload.handle_time_s / patience_s;
    let ln_hazard = |z: f64| ln_normal_density(z) - ln_normal_upper_tail(z);
    let ln_ratio =
        0.5 * theta_over_mu.ln() + ln_hazard(beta / theta_over_mu.sqrt()) - ln_hazard(-beta);
    let p_wait = 1.0 / (1.0 + ln_ratio.exp());
    SquareRootApproximation {
        approximation: "Garnett-Mandelbaum-Reiman",
        agents,
        beta,
        p_wait,
    }
}

// Reference values are kept with every digit the high-precision tools printed.
#[cfg(test)]
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    fn assert_relative(actual: f64, expected: f64, tolerance: f64, what: &str) {
        let error = if expected == 0.0 {
            actual.abs()
        } else {
            ((actual - expected) / expected).abs()
        };
        assert!(
            error <= tolerance,
            "{what}: got {actual:.17e}, expected {expected:.17e}, relative error {error:e}"
        );
    }

    /// 100 calls per 30 minutes with a 180 s handle time: 10 erlangs.
    fn worked_example() -> Workload {
        Workload::new(100.0 / 1800.0, 180.0)
    }

    #[test]
    fn erlang_b_matches_table_points() {
        // Printed tables: 1 % blocking at 4.46 erlangs on 10 lines and at 84.06 erlangs on 100
        // lines (tables round to 3-4 digits).
        for (lines, load) in [(10, 4.46), (100, 84.06)] {
            let result = erlang_b(Workload::new(load / 100.0, 100.0), lines);
            assert_relative(result.blocking, 0.01, 0.005, "Erlang B table");
        }
        // mpmath, 50 digits: B = (A^n/n!) / Σ_{k≤n} A^k/k!.
        for (lines, load, expected) in [
            (10, 4.46, 0.009_985_278_363_173_836_7),
            (15, 7.13, 0.003_842_129_245_035_623_4),
            (100, 84.06, 0.009_991_702_588_026_484_4),
        ] {
            let result = erlang_b(Workload::new(load / 100.0, 100.0), lines);
            assert_relative(result.blocking, expected, 1e-12, "Erlang B");
        }
        // Exact small cases: B(1, A) = A/(1+A); B(2, A) = A²/2 / (1 + A + A²/2).
        let b1 = erlang_b(Workload::new(0.02, 100.0), 1).blocking;
        assert_relative(b1, 2.0 / 3.0, 1e-15, "B(1, 2)");
        let b2 = erlang_b(Workload::new(0.02, 100.0), 2).blocking;
        assert_relative(b2, 2.0 / 5.0, 1e-15, "B(2, 2)");
    }

    #[test]
    fn minimum_lines_is_the_first_count_under_the_target() {
        let workload = Workload::new(4.46 / 100.0, 100.0);
        let answer = minimum_lines(workload, 0.01);
        assert!(answer.blocking <= 0.01);
        assert!(erlang_b(workload, answer.lines - 1).blocking > 0.01);
        assert_eq!(answer.lines, 10, "4.46 erlangs give 0.9985 % on 10 lines");
    }

    #[test]
    fn erlang_c_worked_example() {
        let result = erlang_c(worked_example(), 14, 20.0);
        assert!(!result.unstable);
        assert!(
            (result.p_wait - 0.1741).abs() < 5e-5,
            "P(wait) {}",
            result.p_wait
        );
        assert!(
            (result.service_level - 0.8884).abs() < 5e-5,
            "SL {}",
            result.service_level
        );
        assert!((result.asa_s - 7.84).abs() < 5e-3, "ASA {}", result.asa_s);
        assert_relative(result.occupancy, 10.0 / 14.0, 1e-15, "occupancy");
        // 13 agents miss 80/20, so 14 is the minimum.
        assert!(erlang_c(worked_example(), 13, 20.0).service_level < 0.8);
    }

    #[test]
    fn erlang_c_with_too_few_agents_is_unstable_not_nan() {
        for agents in [0, 5, 10] {
            let result = erlang_c(worked_example(), agents, 20.0);
            assert!(result.unstable);
            assert_eq!(result.p_wait, 1.0);
            assert_eq!(result.service_level, 0.0);
            assert!(result.asa_s.is_infinite());
            let json = serde_json::to_string(&result).unwrap();
            assert!(json.contains("\"asa_s\":null"), "{json}");
        }
    }

    #[test]
    fn erlang_c_matches_high_precision_values() {
        // mpmath, 50 digits: C = (A^n/n! · n/(n−A)) / (Σ_{k<n} A^k/k! + A^n/n! · n/(n−A)).
        for (agents, load, expected) in [
            (14, 10.0, 0.174_131_933_595_049_84),
            (105, 100.0, 0.515_707_426_812_308_78),
            (1_020, 1_000.0, 0.416_260_116_327_353_62),
        ] {
            let result = erlang_c(Workload::new(load / 180.0, 180.0), agents, 20.0);
            assert_relative(result.p_wait, expected, 1e-9, "Erlang C");
        }
    }

    #[test]
    fn erlang_a_matches_high_precision_reference() {
        // Printed by plan/reference/erlang_a_reference.py (mpmath, 120 digits, birth-death
        // chain plus competing exponential clocks; see the script).
        let cases = [
            (
                100.0 / 1800.0,
                180.0,
                14,
                120.0,
                20.0,
                [
                    0.126_976_340_079_795_33,
                    0.022_839_286_531_818_763,
                    0.932_729_580_698_059_69,
                    0.954_530_373_399_453_77,
                    2.345_375_234_152_169_5,
                    2.740_714_383_818_251_6,
                ],
            ),
            (
                100.0 / 1800.0,
                180.0,
                8,
                90.0,
                30.0,
                [
                    0.681_697_815_949_222_17,
                    0.266_538_137_785_293_99,
                    0.518_094_638_790_365_05,
                    0.706_368_886_346_681_52,
                    21.781_405_531_187_487,
                    23.988_432_400_676_459,
                ],
            ),
            (
                0.5,
                30.0,
                3,
                45.0,
                10.0,
                [
                    0.999_999_102_324_579_36,
                    0.800_000_067_762_269_11,
                    3.334_704_720_179_409_2e-5,
                    0.000_166_735_292_500_779_26,
                    67.609_033_100_075_433,
                    36.000_003_049_302_11,
                ],
            ),
        ];
        for (rate, aht, agents, patience, target, expected) in cases {
            let result = erlang_a(Workload::new(rate, aht), agents, patience, target);
            let actual = [
                result.p_wait,
                result.p_abandon,
                result.service_level_offered,
                result.service_level_answered,
                result.asa_s,
                result.mean_wait_s,
            ];
            let names = [
                "p_wait",
                "p_abandon",
                "sl_offered",
                "sl_answered",
                "asa",
                "mean_wait",
            ];
            for ((value, reference), name) in actual.iter().zip(expected).zip(names) {
                assert_relative(*value, reference, 1e-9, name);
            }
        }
    }

    /// What the birth–death chain says, computed independently of the closed forms: weights
    /// of states 0..n+K in log space, then each waiting contact's fate followed through its
    /// competing exponential clocks, and the service level by uniformization of that
    /// pure-death chain.
    struct ChainReference {
        p_wait: f64,
        p_abandon: f64,
        service_level_offered: f64,
        asa_s: f64,
        mean_wait_s: f64,
    }

    fn birth_death_reference(
        workload: Workload,
        agents: usize,
        patience_s: f64,
        target_s: f64,
    ) -> ChainReference {
        let lambda = workload.arrival_rate_per_s;
        let mu = 1.0 / workload.handle_time_s;
        let theta = 1.0 / patience_s;
        let death_rate = |k: usize| -> f64 {
            k.min(agents) as f64 * mu + k.saturating_sub(agents) as f64 * theta
        };
        let mut ln_weights = vec![0.0_f64];
        let mut peak = 0.0_f64;
        loop {
            let k = ln_weights.len();
            let next = ln_weights[k - 1] + lambda.ln() - death_rate(k).ln();
            peak = peak.max(next);
            ln_weights.push(next);
            if k > agents && next < peak - 80.0 && lambda < death_rate(k) {
                break;
            }
        }
        let weights: Vec<f64> = ln_weights.iter().map(|w| (w - peak).exp()).collect();
        let total: f64 = weights.iter().sum();
        let pi: Vec<f64> = weights.iter().map(|w| w / total).collect();
        let queue_states = pi.len() - agents;
        let p_wait: f64 = pi[agents..].iter().sum();
        let queue_length: f64 = (0..queue_states).map(|m| m as f64 * pi[agents + m]).sum();
        // With j contacts ahead, the queue moves at r_j = nμ + jθ and the contact's own
        // patience runs at θ.
        let stage_rate = |j: usize| agents as f64 * mu + j as f64 * theta;
        let mut survive = 1.0;
        let mut mean_stage_time = 0.0;
        let mut answered_wait = 0.0;
        for m in 0..queue_states {
            survive *= stage_rate(m) / (stage_rate(m) + theta);
            mean_stage_time += 1.0 / (stage_rate(m) + theta);
            answered_wait += pi[agents + m] * survive * mean_stage_time;
        }
        // Uniformization: P(answered within T | j ahead) = Σ_k Poisson(k; ΛT) g_k(j), where
        // g_k(j) is the chance of reaching an agent within k jumps of the uniformized chain.
        let uniform_rate = stage_rate(queue_states) + theta;
        let mean_jumps = uniform_rate * target_s;
        let mut reach = vec![0.0_f64; queue_states];
        let mut answered_within = 0.0_f64;
        let jump_limit = (mean_jumps + 40.0 * mean_jumps.sqrt() + 100.0) as usize;
        let mut ln_poisson = -mean_jumps; // ln Poisson(0; ΛT)
        for jump in 1..=jump_limit {
            let previous = reach.clone();
            for j in 0..queue_states {
                let forward = if j == 0 { 1.0 } else { previous[j - 1] };
                let stay = 1.0 - (stage_rate(j) + theta) / uniform_rate;
                reach[j] = stage_rate(j) / uniform_rate * forward + stay * previous[j];
            }
            ln_poisson += mean_jumps.ln() - (jump as f64).ln();
            let weight = ln_poisson.exp();
            answered_within += weight
                * (0..queue_states)
                    .map(|m| pi[agents + m] * reach[m])
                    .sum::<f64>();
        }
        // Jumps beyond the limit have negligible weight; a contact with g = P(ever answered)
        // after the last jump is accounted for by the Poisson tail, which the limit makes
        // smaller than 1e-300.
        let p_abandon = theta * queue_length / lambda;
        let p_answered = 1.0 - p_abandon;
        let below: f64 = pi[..agents].iter().sum();
        ChainReference {
            p_wait,
            p_abandon,
            service_level_offered: below + answered_within,
            asa_s: answered_wait / p_answered,
            mean_wait_s: queue_length / lambda,
        }
    }

    #[test]
    fn erlang_a_matches_the_birth_death_chain() {
        // (rate per s, handle time s, agents, patience s, target s): light, near-critical,
        // overloaded, short and long patience.
        for (rate, handle_time, agents, patience, target) in [
            (100.0 / 1800.0, 180.0, 12, 60.0, 20.0),
            (1.0, 60.0, 70, 30.0, 15.0),
            (1.0, 60.0, 50, 200.0, 30.0),
            (0.2, 300.0, 62, 600.0, 60.0),
            (5.0, 20.0, 100, 10.0, 5.0),
        ] {
            let workload = Workload::new(rate, handle_time);
            let exact = erlang_a(workload, agents, patience, target);
            let chain = birth_death_reference(workload, agents as usize, patience, target);
            let case = format!("{rate}/s, {handle_time} s, {agents} agents, {patience} s");
            assert_relative(exact.p_wait, chain.p_wait, 1e-9, &format!("p_wait {case}"));
            assert_relative(
                exact.p_abandon,
                chain.p_abandon,
                1e-9,
                &format!("p_ab {case}"),
            );
            assert_relative(exact.asa_s, chain.asa_s, 1e-9, &format!("asa {case}"));
            assert_relative(
                exact.mean_wait_s,
                chain.mean_wait_s,
                1e-9,
                &format!("wait {case}"),
            );
            assert_relative(
                exact.service_level_offered,
                chain.service_level_offered,
                1e-9,
                &format!("sl {case}"),
            );
        }
    }

    #[test]
    fn erlang_a_matches_the_birth_death_chain_at_ten_thousand_agents() {
        let workload = Workload::new(9_950.0 / 180.0, 180.0);
        let exact = erlang_a(workload, 10_000, 60.0, 20.0);
        let chain = birth_death_reference(workload, 10_000, 60.0, 0.0);
        assert_relative(exact.p_wait, chain.p_wait, 1e-9, "p_wait");
        assert_relative(exact.p_abandon, chain.p_abandon, 1e-9, "p_abandon");
        assert_relative(exact.asa_s, chain.asa_s, 1e-9, "asa");
    }

    #[test]
    fn erlang_a_tends_to_erlang_c_as_patience_grows() {
        let workload = worked_example();
        let limit = erlang_c(workload, 14, 20.0);
        let patient = erlang_a(workload, 14, 1e9, 20.0);
        assert_relative(patient.p_wait, limit.p_wait, 1e-6, "p_wait");
        assert_relative(
            patient.service_level_offered,
            limit.service_level,
            1e-6,
            "sl",
        );
        assert_relative(patient.asa_s, limit.asa_s, 1e-6, "asa");
        assert!(
            patient.p_abandon < 1e-6,
            "hardly anyone abandons: {}",
            patient.p_abandon
        );
    }

    #[test]
    fn erlang_a_service_level_is_all_unqueued_contacts_at_zero_target() {
        let result = erlang_a(worked_example(), 11, 90.0, 0.0);
        assert_relative(
            result.service_level_offered,
            1.0 - result.p_wait,
            1e-14,
            "sl(0)",
        );
    }

    fn assert_probability(value: f64, what: &str) {
        assert!(
            value.is_finite() && (0.0..=1.0).contains(&value),
            "{what} = {value}"
        );
    }

    #[test]
    fn large_systems_stay_finite_and_sensible() {
        for agents in [10_000_u64, 100_000] {
            let load = agents as f64 * 0.99;
            let workload = Workload::new(load / 180.0, 180.0);
            let c = erlang_c(workload, agents, 20.0);
            assert_probability(c.p_wait, "Erlang C p_wait");
            assert_probability(c.service_level, "Erlang C service level");
            assert!(c.asa_s.is_finite() && c.asa_s > 0.0);
            // Square-root staffing says β = 0.01·√n: 1 at 10,000 agents, 3.2 at 100,000.
            let approximation = halfin_whitt(workload, agents);
            assert!(
                (c.p_wait - approximation.p_wait).abs() < 0.02,
                "{c:?} {approximation:?}"
            );

            for load_factor in [0.95, 1.0, 1.05] {
                let workload = Workload::new(agents as f64 * load_factor / 180.0, 180.0);
                let a = erlang_a(workload, agents, 60.0, 20.0);
                for (value, what) in [
                    (a.p_wait, "p_wait"),
                    (a.p_abandon, "p_abandon"),
                    (a.service_level_offered, "sl offered"),
                    (a.service_level_answered, "sl answered"),
                    (a.occupancy, "occupancy"),
                ] {
                    assert_probability(value, what);
                }
                assert!(a.asa_s.is_finite() && a.mean_wait_s.is_finite());
                if load_factor > 1.0 {
                    // Overloaded: at least the excess load abandons.
                    assert!(a.p_abandon >= 1.0 - 1.0 / load_factor - 1e-9, "{a:?}");
                }
            }
        }
        // Erlang B far in the tail underflows gracefully to a tiny, non-negative number.
        let tail = erlang_b(Workload::new(1.0, 100.0), 100_000);
        assert!(tail.blocking >= 0.0 && tail.blocking < 1e-300);
    }

    #[test]
    fn square_root_approximations_are_close_in_the_qed_regime() {
        let workload = Workload::new(100.0 / 180.0, 180.0);
        let exact_c = erlang_c(workload, 110, 20.0);
        let halfin = halfin_whitt(workload, 110);
        assert!(
            (exact_c.p_wait - halfin.p_wait).abs() < 0.03,
            "{exact_c:?} {halfin:?}"
        );
        let exact_a = erlang_a(workload, 100, 120.0, 20.0);
        let garnett = garnett_mandelbaum_reiman(workload, 100, 120.0);
        assert!(
            (exact_a.p_wait - garnett.p_wait).abs() < 0.03,
            "{exact_a:?} {garnett:?}"
        );
    }
}
