//! Special functions the queueing formulas need: the log-gamma function, the incomplete gamma
//! function in a scaled, log-space form, and the standard normal distribution.
//!
//! Everything is computed in log space or as ratios of sums of positive terms, because the
//! quantities involved (`x^a e^{-x}` with `a` in the hundreds of thousands) overflow `f64` long
//! before the probabilities built from them stop making sense.

/// `ln(2π) / 2`.
const HALF_LN_TWO_PI: f64 = 0.918_938_533_204_672_8;

/// The relative size below which a further term of a series no longer changes an `f64` sum.
const SERIES_TOLERANCE: f64 = 1e-17;

/// The correction term of Stirling's series for `ln Γ(z)`, valid for `z ≥ 10`, where the
/// truncation error is below 1e-16.
fn stirling_correction(z: f64) -> f64 {
    debug_assert!(
        z >= 10.0,
        "Stirling's series is only accurate enough for z ≥ 10"
    );
    let inverse = 1.0 / z;
    let inverse_squared = inverse * inverse;
    // Coefficients B_{2k} / (2k (2k − 1)), Horner form in 1/z².
    let series = 1.0 / 12.0
        + inverse_squared
            * (-1.0 / 360.0
                + inverse_squared
                    * (1.0 / 1260.0
                        + inverse_squared
                            * (-1.0 / 1680.0
                                + inverse_squared
                                    * (1.0 / 1188.0
                                        + inverse_squared
                                            * (-691.0 / 360_360.0
                                                + inverse_squared * (1.0 / 156.0))))));
    series * inverse
}

/// `ln Γ(z)` for finite `z > 0`.
pub(crate) fn ln_gamma(z: f64) -> f64 {
    assert!(
        z > 0.0 && z.is_finite(),
        "ln Γ(z) is used for finite z > 0 only, got {z}"
    );
    // Shift small arguments up with Γ(z + 1) = z Γ(z) so that Stirling's series is accurate.
    let mut shifted = z;
    let mut product = 1.0;
    while shifted < 10.0 {
        product *= shifted;
        shifted += 1.0;
    }
    (shifted - 0.5) * shifted.ln() - shifted + HALF_LN_TWO_PI + stirling_correction(shifted)
        - product.ln()
}

/// `ln(y^s e^{-y} / Γ(s + 1))`, the log of the Poisson-like weight in front of both incomplete
/// gamma expansions.
///
/// For large `s` the naive form subtracts numbers of size `s ln y` that nearly cancel; the
/// form used here, `−s·(e − ln(1 + e)) − ln(2πs)/2 − correction(s)` with `e = (y − s)/s`,
/// keeps its absolute error near `ε·|y − s|` instead of `ε·s·ln y`.
pub(crate) fn ln_poisson_weight(s: f64, y: f64) -> f64 {
    debug_assert!(
        s > 0.0 && y > 0.0,
        "the weight is only needed for s > 0 and y > 0"
    );
    if s < 10.0 {
        return s * y.ln() - y - ln_gamma(s + 1.0);
    }
    let relative_gap = (y - s) / s;
    -s * (relative_gap - relative_gap.ln_1p())
        - HALF_LN_TWO_PI
        - 0.5 * s.ln()
        - stirling_correction(s)
}

/// `ln Σ_{k≥0} y^k / (s (s+1) ⋯ (s+k))`, which equals `ln(γ(s, y) · y^{−s} · e^{y})` where `γ`
/// is the lower incomplete gamma function. Requires `s > 0`, `y > 0`.
///
/// Below `y < s + 1` the series is summed directly (all terms positive and, after the first,
/// decreasing); above it the continued fraction for the upper function `Γ(s, y)` is used and
/// the lower one is obtained as `1 − Q`, where `Q < 1/2` so nothing cancels.
pub(crate) fn ln_scaled_lower_gamma(s: f64, y: f64) -> f64 {
    assert!(
        s > 0.0 && s.is_finite(),
        "the shape must be finite and positive, got {s}"
    );
    assert!(
        y > 0.0 && y.is_finite(),
        "the argument must be finite and positive, got {y}"
    );
    if y < s + 1.0 {
        series_sum(s, y).ln()
    } else {
        // γ(s, y) y^{−s} e^{y} = P(s, y) Γ(s) y^{−s} e^{y} = P(s, y) / (s · weight(s, y)).
        let ln_upper_regularized = ln_upper_regularized_by_continued_fraction(s, y);
        let ln_lower_regularized = (-ln_upper_regularized.exp()).ln_1p();
        ln_lower_regularized - ln_poisson_weight(s, y) - s.ln()
    }
}

/// `Σ_{k≥0} y^k / (s (s+1) ⋯ (s+k))` for `y < s + 1`.
fn series_sum(s: f64, y: f64) -> f64 {
    debug_assert!(
        y < s + 1.0,
        "the series is only used where its terms decrease"
    );
    let mut term = 1.0 / s;
    let mut sum = term;
    // Terms fall off like exp(−k²/2s) near y ≈ s, so 10·√s + 100 terms are more than enough;
    // the bound only guards against a logic error.
    let iteration_limit = (10.0 * s.sqrt() + 100.0 * (1.0 + y)) as u64 + 1_000;
    let mut k = 1.0;
    for _ in 0..iteration_limit {
        let ratio = y / (s + k);
        term *= ratio;
        sum += term;
        // Every later ratio is smaller, so the tail is below term · ratio / (1 − ratio).
        if term * ratio <= SERIES_TOLERANCE * sum * (1.0 - ratio) {
            return sum;
        }
        k += 1.0;
    }
    panic!("the incomplete gamma series did not converge for s = {s}, y = {y}");
}

/// `ln Q(s, y)` (regularized upper incomplete gamma) by the modified Lentz evaluation of the
/// continued fraction `Γ(s, y) = e^{−y} y^s / (y + 1 − s − 1·(1 − s)/(y + 3 − s − …))`.
/// Converges quickly for `y ≥ s + 1`.
fn ln_upper_regularized_by_continued_fraction(s: f64, y: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut denominator_term = y + 1.0 - s;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / denominator_term;
    let mut fraction = d;
    let iteration_limit = (10.0 * s.sqrt()) as u64 + 10_000;
    for i in 1..=iteration_limit {
        let i = i as f64;
        let numerator_term = -i * (i - s);
        denominator_term += 2.0;
        d = numerator_term * d + denominator_term;
        if d.abs() < TINY {
            d = TINY;
        }
        c = denominator_term + numerator_term / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let change = d * c;
        fraction *= change;
        if (change - 1.0).abs() <= 1e-16 {
            // Q = e^{−y} y^s / Γ(s) · fraction = s · weight(s, y) · fraction.
            return ln_poisson_weight(s, y) + s.ln() + fraction.ln();
        }
    }
    panic!("the incomplete gamma continued fraction did not converge for s = {s}, y = {y}");
}

/// `ln Q(s, y)`, the log of the regularized upper incomplete gamma function.
pub(crate) fn ln_upper_regularized_gamma(s: f64, y: f64) -> f64 {
    if y < s + 1.0 {
        let ln_lower = ln_poisson_weight(s, y) + s.ln() + series_sum(s, y).ln();
        (-ln_lower.exp()).ln_1p()
    } else {
        ln_upper_regularized_by_continued_fraction(s, y)
    }
}

/// `ln(1 − Φ(x))`, the log of the standard normal upper tail, accurate far into both tails.
pub(crate) fn ln_normal_upper_tail(x: f64) -> f64 {
    // 1 − Φ(x) = Q(1/2, x²/2) / 2 for x ≥ 0; the lower half mirrors it.
    if x == 0.0 {
        return 0.5_f64.ln();
    }
    let ln_half_q = ln_upper_regularized_gamma(0.5, x * x / 2.0) + 0.5_f64.ln();
    if x > 0.0 {
        ln_half_q
    } else {
        (-ln_half_q.exp()).ln_1p()
    }
}

/// `ln φ(x)`, the log of the standard normal density.
pub(crate) fn ln_normal_density(x: f64) -> f64 {
    -0.5 * x * x - HALF_LN_TWO_PI
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_relative(actual: f64, expected: f64, tolerance: f64, what: &str) {
        let error = ((actual - expected) / expected).abs();
        assert!(
            error <= tolerance,
            "{what}: got {actual:e}, expected {expected:e}, relative error {error:e}"
        );
    }

    #[test]
    fn ln_gamma_matches_factorials_and_half_integers() {
        let mut factorial = 1.0_f64;
        for n in 1..30 {
            // Γ(n + 1) = n!
            factorial *= n as f64;
            let error = (ln_gamma(n as f64 + 1.0) - factorial.ln()).abs();
            assert!(
                error <= 1e-14 * factorial.ln().max(1.0),
                "ln Γ({n} + 1) off by {error:e}"
            );
        }
        // Γ(1/2) = √π.
        assert_relative(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-14,
            "ln Γ(1/2)",
        );
    }

    #[test]
    fn stable_poisson_weight_matches_the_naive_form() {
        for (s, y) in [(12.0, 3.0), (50.0, 60.0), (300.0, 280.5), (15.0, 40.0)] {
            let naive = s * f64::ln(y) - y - ln_gamma(s + 1.0);
            assert_relative(ln_poisson_weight(s, y), naive, 1e-12, "weight");
        }
    }

    #[test]
    fn series_and_continued_fraction_agree_at_the_switch() {
        // Both sides of y = s + 1 must describe one smooth function.
        for s in [0.5, 3.0, 40.0, 2_500.0, 100_000.0] {
            let below = ln_scaled_lower_gamma(s, s + 1.0 - 1e-9);
            let above = ln_scaled_lower_gamma(s, s + 1.0 + 1e-9);
            assert!((below - above).abs() < 1e-8, "s = {s}: {below} vs {above}");
        }
    }

    #[test]
    fn normal_tail_matches_known_values() {
        // 1 − Φ(1.959963984540054) = 0.025; 1 − Φ(−1) = 0.8413447460685429.
        assert_relative(
            ln_normal_upper_tail(1.959_963_984_540_054).exp(),
            0.025,
            1e-12,
            "z95",
        );
        assert_relative(
            ln_normal_upper_tail(-1.0).exp(),
            0.841_344_746_068_542_9,
            1e-12,
            "-1",
        );
        // Far tail: 1 − Φ(10) = 7.619853024160527e-24.
        assert_relative(
            ln_normal_upper_tail(10.0).exp(),
            7.619_853_024_160_527e-24,
            1e-10,
            "10",
        );
    }
}
