"""Reference values for the Erlang A tests, computed at high precision with mpmath.

Run with `python3 erlang_a_reference.py` (needs `pip install mpmath`). The Rust tests hold
the printed numbers; they never run this script.

The method is deliberately different from the crate's: the stationary distribution comes from
the birth-death chain (states 0..n+K, death rate min(k,n)·mu + max(k-n,0)·theta), and the wait
of a contact that finds m others waiting is followed through its competing exponential clocks:
with j contacts ahead the queue moves at rate n·mu + j·theta while the contact's own patience
runs at rate theta. The service level uses the hypoexponential distribution of the sum of
those stages, written out with partial fractions (hence the high precision).
"""

from mpmath import mp, mpf, exp, fsum

mp.dps = 120


def erlang_a_reference(rate_per_s, aht_s, agents, patience_s, target_s, queue_limit):
    lam, mu, theta, n, T = mpf(rate_per_s), 1 / mpf(aht_s), 1 / mpf(patience_s), agents, mpf(target_s)
    weights = [mpf(1)]
    for k in range(1, n + queue_limit + 1):
        death = min(k, n) * mu + max(k - n, 0) * theta
        weights.append(weights[-1] * lam / death)
    total = fsum(weights)
    pi = [w / total for w in weights]
    p_wait = fsum(pi[n:])
    queue = fsum((k - n) * pi[k] for k in range(n, len(pi)))
    p_abandon = theta * queue / lam
    answered_within = fsum(pi[:n])
    answered_wait = mpf(0)
    for m in range(queue_limit):
        # Stage j (j = m..0 contacts ahead) ends at rate r_j + theta; the contact survives it
        # with probability r_j / (r_j + theta).
        stage_rates = [n * mu + j * theta + theta for j in range(m + 1)]
        survive = mpf(1)
        for rate in stage_rates:
            survive *= (rate - theta) / rate
        mean_time = fsum(1 / rate for rate in stage_rates)
        answered_wait += pi[n + m] * survive * mean_time
        # Hypoexponential CDF at T by partial fractions.
        tail = mpf(0)
        for i, rate_i in enumerate(stage_rates):
            coefficient = mpf(1)
            for k, rate_k in enumerate(stage_rates):
                if k != i:
                    coefficient *= rate_k / (rate_k - rate_i)
            tail += coefficient * exp(-rate_i * T)
        answered_within += pi[n + m] * survive * (1 - tail)
    p_answered = 1 - p_abandon
    return {
        "p_wait": p_wait,
        "p_abandon": p_abandon,
        "service_level_offered": answered_within,
        "service_level_answered": answered_within / p_answered,
        "asa_s": answered_wait / p_answered,
        "mean_wait_s": queue / lam,
    }


CASES = [
    # (rate per s, AHT s, agents, patience s, target s, queue states kept)
    (100 / 1800, 180, 14, 120, 20, 150),
    (100 / 1800, 180, 8, 90, 30, 150),
    (0.5, 30, 3, 45, 10, 150),
]

if __name__ == "__main__":
    for case in CASES:
        values = erlang_a_reference(*case)
        print(case)
        for name, value in values.items():
            print(f"    {name}: {mp.nstr(value, 17)}")
