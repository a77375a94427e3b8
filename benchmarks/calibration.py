"""The calibration of taskeval's verdicts, from the project's own statistics functions.

    python benchmarks/calibration.py            # a few minutes on 2 cores

Paired binary metrics (accuracy, json_valid_rate, ...) are computed exactly: the verdicts depend on the table only
through b (broke) and c (fixed), which follow a multinomial law given the discordance ψ and the true change Δ, so
every (b, c) with probability above 1e-12 is enumerated. The baseline's rate does not enter, except in which
(ψ, Δ) are possible (b ≤ rate, c ≤ 1 − rate); at a 5-point margin, ψ below 5% cannot hold a 5-point drop.
Numeric metrics (judge scores, field_accuracy; the betting bound of evaluator/core/betting.py) are simulated: 10,000
seeded replicates per cell, n = 50 to 2,000, five kinds of per-case change (outright failures from the top score,
ties, heavy tails, discrete 1–5 judge levels, gains mixed with failures), through the same betting functions that
`paired_test` calls, in the same case order (checked against `paired_test` itself on 200 replicates per cell up to
n = 200). stop_early's sequential rule (looks after every 20 cases) is simulated the same way.

Printed: the size at the margin (how often a true drop of exactly δ passes; must be ≤ α), the A/A block rate,
false confirmations at Δ = 0, power (confirmed regression) at true drops of 5 and 10 points, and for stop_early how
often a run settles on the wrong side of the line and what share of the cases it uses.
Writes benchmarks/results/calibration.json.
"""

from __future__ import annotations

import json
import math
import sys
from functools import cache
from pathlib import Path

import numpy as np
from scipy.stats import binom

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluator.core.betting import case_order, log_capital, p_value_below, rules_out, to_unit  # noqa: E402
from evaluator.core.stats import (  # noqa: E402
    PairedTable,
    mcnemar_midp_worse,
    newcombe_paired_interval,
    tango_statistic,
    z_value,
)
from evaluator.stages.noninferiority import NUMERIC_RANGE  # noqa: E402

ALPHA, MARGIN = 0.05, 0.05
SIZES = (50, 100, 500, 2000)
DISCORDANCE = (0.01, 0.03, 0.05, 0.10, 0.15, 0.20, 0.25)
RESULTS = Path(__file__).resolve().parent / "results" / "calibration.json"


def tango_passes(b: int, c: int, n: int, correction: float = 0.5) -> bool:
    """Pass ⇔ the (1 − 2α) interval's lower end is above −δ ⇔ the score test at Δ₀ = −δ rejects (the statistic
    falls as Δ₀ rises, so the two are the same condition); `tango_interval` solves for that end."""
    table = PairedTable(0, b, c, n - b - c)
    return tango_statistic(table, -MARGIN, correction) > z_value(1 - 2 * ALPHA)


def newcombe_size(n: int, rate: float, psi: float) -> float:
    """Newcombe's method 10 at the margin, for reference: unlike Tango's, it depends on how the concordant cases
    split between both-right and both-wrong, so this enumerates all four cells (small n only)."""
    lost, gained = (psi + MARGIN) / 2, (psi - MARGIN) / 2
    both_right = rate - lost
    total = 0.0
    for b in range(n + 1):
        pb = float(binom.pmf(b, n, lost))
        for c in range(n - b + 1):
            pc = float(binom.pmf(c, n - b, gained / (1 - lost))) if gained > 0 else float(c == 0)
            if pb * pc < 1e-12:
                continue
            rest = n - b - c
            for a in range(rest + 1):
                weight = pb * pc * float(binom.pmf(a, rest, both_right / (1 - lost - gained)))
                if weight >= 1e-13:
                    table = PairedTable(a, b, c, rest - a)
                    total += weight * (newcombe_paired_interval(table, 1 - 2 * ALPHA)[0] > -MARGIN)
    return total


@cache
def midp(b: int, c: int) -> float:
    return mcnemar_midp_worse(PairedTable(0, b, c, 0))


def paired_table_law(n: int, lost: float, gained: float) -> list[tuple[int, int, float]]:
    """(b, c, probability) for b ~ Bin(n, lost), c | b ~ Bin(n − b, gained / (1 − lost)), pruned below 1e-12."""
    cells = []
    bs = np.arange(n + 1)
    for b, pb in zip(bs, binom.pmf(bs, n, lost)):
        if pb < 1e-12:
            continue
        cs = np.arange(n - b + 1)
        for c, pc in zip(cs, binom.pmf(cs, n - b, gained / (1 - lost) if lost < 1 else 0.0)):
            if pb * pc >= 1e-12:
                cells.append((int(b), int(c), float(pb * pc)))
    return cells


def rates(n: int, psi: float, delta: float) -> dict[str, float] | None:
    """Probabilities of pass (project's method and two others), block, and confirmed, for discordance ψ and true
    change Δ (negative: a drop); None when ψ cannot hold that change."""
    lost, gained = (psi - delta) / 2, (psi + delta) / 2
    if gained < 0 or lost < 0:
        return None
    result = {"pass": 0.0, "pass_uncorrected": 0.0, "confirmed": 0.0}
    for b, c, p in paired_table_law(n, lost, gained):
        passes = tango_passes(b, c, n)
        result["pass"] += p * passes
        result["pass_uncorrected"] += p * tango_passes(b, c, n, correction=0.0)
        result["confirmed"] += p * (not passes and midp(b, c) < ALPHA)
    return result


def paired_binary_tables() -> dict[str, list[dict[str, object]]]:
    rows: dict[str, list[dict[str, object]]] = {"size": [], "aa": [], "power": []}
    for n in SIZES:
        for psi in DISCORDANCE:
            at_margin = rates(n, psi, -MARGIN)
            if at_margin is not None:
                rows["size"].append({"n": n, "psi": psi, "path": "paired binary (Tango, exact)", **at_margin})
            equal = rates(n, psi, 0.0)
            assert equal is not None
            rows["aa"].append({"n": n, "psi": psi, "path": "paired binary (Tango, exact)", "block": 1 - equal["pass"],
                               "confirmed": equal["confirmed"]})
            for drop in (0.05, 0.10):
                dropped = rates(n, psi, -drop)
                if dropped is not None:
                    rows["power"].append({"n": n, "psi": psi, "path": "paired binary (Tango, exact)", "drop": drop,
                                          "confirmed": dropped["confirmed"],
                                          "block": 1 - dropped["pass"]})
    return rows


NUMERIC_SIZES = (50, 100, 200, 500, 1000, 2000)
REPLICATES = 10_000
"""Per numeric cell: the Monte Carlo standard error of a rate near α is √(α(1 − α)/10,000) = 0.0022."""
LOOK_EVERY = 20
"""stop_early looks after every batch of this many cases (evaluator/stages/early_stop.py)."""


def numeric_scenarios(rng: np.random.Generator, n: int, reps: int, drop: float = MARGIN
                      ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(baseline, candidate) per-case scores in [0, 1] with a true mean change of −drop (−δ by default), none of them
    all 0/1 (so every one runs the numeric path)."""
    u = rng.random((reps, n))
    top = rng.choice([0.9, 0.925, 0.95, 0.975, 1.0], size=(reps, n))
    level = rng.integers(1, 4, size=(reps, n)) / 4  # judge levels 2–4 of 1–5, so one level up or down stays in range
    tail = np.clip(0.05 * rng.standard_t(2, size=(reps, n)), -0.95, 0.95) - drop  # symmetric clip: mean −drop
    fail = drop  # outright failures from the top score, the rest tied
    return {
        f"outright failures: {fail:.0%} of cases 1 → 0, rest tied at 0.9–1": (
            np.where(u < fail, 1.0, top), np.where(u < fail, 0.0, top)),
        f"ties: {drop / 0.25:.0%} of cases lose one judge level (1–5), rest unchanged": (
            level, level - 0.25 * (u < drop / 0.25)),
        "heavy tails: t(2) moves, clipped symmetrically": (0.5 - tail / 2, 0.5 + tail / 2),
        f"discrete 1–5 judge scores: {0.2 + drop / 0.25:.0%} down, 20% up a level": (
            level, level + 0.25 * np.where(u < 0.2 + drop / 0.25, -1, np.where(u < 0.4 + drop / 0.25, 1, 0))),
        f"mixed: half the cases gain 0.1, {0.05 + drop:.0%} fail outright": (
            np.where(u < 0.05 + drop, 1.0, 0.8),
            np.where(u < 0.05 + drop, 0.0, np.where(u < 0.55 + drop, 0.9, 0.8))),
    }


def numeric_rates(before: np.ndarray, after: np.ndarray) -> dict[str, float]:
    """P(pass) and P(confirmed regression) of the numeric path, from the betting functions `paired_test` calls (the
    same fixed case order), with a plain t bound beside it for reference."""
    from scipy.stats import t

    n = before.shape[1]
    good = (after - before)[:, case_order(n)]
    values = to_unit(good, NUMERIC_RANGE)
    passes = rules_out(values, to_unit(-MARGIN, NUMERIC_RANGE), ALPHA, above=True, horizon=n)
    confirmed = (p_value_below(values, 0.5, ALPHA, horizon=n) <= ALPHA) & (good.mean(1) < 0) & ~passes
    plain = good.mean(1) - t.ppf(1 - ALPHA, n - 1) * good.std(1, ddof=1) / math.sqrt(n)
    return {"pass": float(passes.mean()), "confirmed": float(confirmed.mean()),
            "pass_plain_t": float(np.mean(plain > -MARGIN))}


def disagreements_with_paired_test(before: np.ndarray, after: np.ndarray, count: int) -> int:
    """How many of the first `count` replicates `paired_test` itself decides differently (must be 0)."""
    from evaluator.stages.comparison import paired_test

    n = before.shape[1]
    values = to_unit((after - before)[:count, case_order(n)], NUMERIC_RANGE)
    fast = rules_out(values, to_unit(-MARGIN, NUMERIC_RANGE), ALPHA, above=True, horizon=n)
    slow = [paired_test("field_accuracy", list(a), list(b), ALPHA).good_low > -MARGIN
            for a, b in zip(after[:count], before[:count])]
    return int(np.sum(fast != np.asarray(slow)))


def numeric_tables(reps: int = REPLICATES) -> dict[str, list[dict[str, object]]]:
    """Size at the margin, false confirmations with nothing changed, and power at a 10-point drop, per scenario."""
    rng = np.random.default_rng(0)
    rows: dict[str, list[dict[str, object]]] = {"size": [], "aa": [], "power": []}
    for n in NUMERIC_SIZES:
        for kind, drop in (("size", MARGIN), ("aa", 0.0), ("power", 0.10)):
            for name, (before, after) in numeric_scenarios(rng, n, reps, drop).items():
                row = {"n": n, "scenario": name, "path": "numeric (betting)",
                       "true_change": float((after - before).mean()), **numeric_rates(before, after),
                       "replicates": reps}
                if kind == "size" and n <= 200:
                    row["disagreements_with_paired_test"] = disagreements_with_paired_test(before, after, 200)
                rows[kind].append(row)
    return rows


def first_look(ruled: np.ndarray) -> np.ndarray:
    """The case count at which a look (after every LOOK_EVERY cases, and at the end) first sees the capital past
    1/α, from the running log-capital's crossing; the sequence length + 1 when never."""
    n = ruled.shape[-1]
    crossed = np.where(ruled.any(-1), ruled.argmax(-1) + 1, n + 1)
    return np.where(crossed <= n, np.minimum(np.ceil(crossed / LOOK_EVERY) * LOOK_EVERY, n), n + 1)


def sequential_rates(values: np.ndarray, good_above: float) -> dict[str, float]:
    """stop_early's rule on sequences in [0, 1] (cases in their seeded order): settled pass when the capital betting
    on a mean above the threshold reaches 1/α at a look, settled fail when the one betting below it does; the
    share of cases a run settled on both sides would use."""
    threshold = math.log(1 / ALPHA)
    n = values.shape[-1]
    above = np.maximum.accumulate(log_capital(values, good_above, ALPHA, above=True), axis=-1) >= threshold
    below = np.maximum.accumulate(log_capital(values, good_above, ALPHA, above=False), axis=-1) >= threshold
    settled_pass, settled_fail = first_look(above), first_look(below)
    stop = np.minimum(settled_pass, settled_fail)
    return {"settled_pass": float(np.mean(settled_pass <= n)), "settled_fail": float(np.mean(settled_fail <= n)),
            "cases_used": float(np.mean(np.minimum(stop, n)) / n)}


def sequential_tables(reps: int = REPLICATES) -> list[dict[str, object]]:
    """The sequential rule at the margin (size: settled pass; false block: settled fail when the truth is exactly
    on the line), for paired comparisons (binary and numeric) and for a gate's threshold on a rate."""
    rng = np.random.default_rng(1)
    rows: list[dict[str, object]] = []
    for n in (100, 500, 2000):
        for psi, change in ((0.05, -MARGIN), (0.15, -MARGIN), (0.25, -MARGIN), (0.05, 0.0), (0.15, -3 * MARGIN)):
            lost, gained = (psi - change) / 2, (psi + change) / 2
            u = rng.random((reps, n))
            good = np.where(u < lost, -1.0, np.where(u < lost + gained, 1.0, 0.0))
            truth = "true Δ = −δ" if change == -MARGIN else f"true Δ = {change * 100:+.0f} points (not at the line)"
            rows.append({"n": n, "rule": f"comparison, paired binary, ψ = {psi:.0%}, {truth}",
                         "at_the_line": change == -MARGIN,
                         **sequential_rates(to_unit(good, NUMERIC_RANGE), to_unit(-MARGIN, NUMERIC_RANGE))})
        for name, (before, after) in numeric_scenarios(rng, n, reps).items():
            rows.append({"n": n, "rule": f"comparison, numeric, {name}, true Δ = −δ", "at_the_line": True,
                         **sequential_rates(to_unit(after - before, NUMERIC_RANGE), to_unit(-MARGIN, NUMERIC_RANGE))})
        for rate in (0.85, 0.95):
            hits = (rng.random((reps, n)) < rate).astype(float)
            rows.append({"n": n, "rule": f"gate accuracy ≥ {rate}, true rate = {rate}", "at_the_line": True,
                         **sequential_rates(hits, rate)})
    return rows


def show(tables: dict[str, list[dict[str, object]]], numeric: dict[str, list[dict[str, object]]],
         sequential: list[dict[str, object]]) -> None:
    print(f"Paired binary metrics (the Tango path), exact. α = {ALPHA}, margin δ = {MARGIN:.2f}.\n")
    print("Size at the margin: P(pass | true Δ = −δ); must be ≤ α")
    print(f"{'n':>5} {'ψ':>5} {'taskeval (Tango cc)':>20} {'Tango, no cc':>13}")
    for row in tables["size"]:
        print(f"{row['n']:>5} {row['psi']:>5.2f} {row['pass']:>20.4f} {row['pass_uncorrected']:>13.4f}")
    print(f"For reference, Newcombe's method 10 (taskeval's earlier interval) at n = 100, rate 0.6, ψ = 0.05: "
          f"{newcombe_size(100, 0.6, 0.05):.4f}")
    print("\nA/A (true Δ = 0): block rate and false confirmed regressions (the latter must be ≤ α)")
    print(f"{'n':>5} {'ψ':>5} {'blocks':>8} {'confirmed':>10}")
    for row in tables["aa"]:
        print(f"{row['n']:>5} {row['psi']:>5.2f} {row['block']:>8.4f} {row['confirmed']:>10.4f}")
    print("\nPower: P(confirmed regression) and P(block) at a true drop of 5 and 10 points")
    print(f"{'n':>5} {'ψ':>5} {'drop':>5} {'confirmed':>10} {'blocks':>8}")
    for row in tables["power"]:
        print(f"{row['n']:>5} {row['psi']:>5.2f} {row['drop']:>5.2f} {row['confirmed']:>10.4f} {row['block']:>8.4f}")
    print(f"\nNumeric metrics (simulated, {REPLICATES:,} replicates per cell; Monte Carlo SE at α: 0.0022), "
          "numeric path (betting bound):")
    for kind, title in (("size", "size at the margin, P(pass | true Δ = −δ), must be ≤ α"),
                        ("aa", "nothing changed: false confirmed regressions, must be ≤ α"),
                        ("power", "a true 10-point drop: P(confirmed), P(pass)")):
        print(f"  {title}")
        print(f"  {'n':>5} {'scenario':<62} {'Δ':>7} {'pass':>7} {'confirmed':>10} {'plain t pass':>13}")
        for row in numeric[kind]:
            print(f"  {row['n']:>5} {row['scenario']:<62} {row['true_change']:>7.4f} {row['pass']:>7.4f} "
                  f"{row['confirmed']:>10.4f} {row['pass_plain_t']:>13.4f}")
    print(f"\nstop_early's rule (looks after every {LOOK_EVERY} cases, anytime-valid bets), {REPLICATES:,} replicates:")
    print(f"  {'n':>5} {'rule':<92} {'settled pass':>13} {'settled fail':>13} {'cases used':>11}")
    for row in sequential:
        print(f"  {row['n']:>5} {row['rule']:<92} {row['settled_pass']:>13.4f} {row['settled_fail']:>13.4f} "
              f"{row['cases_used']:>11.2f}")
    worst = max(float(str(r["pass"])) for r in tables["size"])
    false_confirmed = max(float(str(r["confirmed"])) for r in tables["aa"])
    numeric_worst = max(float(str(r["pass"])) for r in numeric["size"])
    numeric_false = max(float(str(r["confirmed"])) for r in numeric["aa"])
    sequential_worst = max(max(float(str(r["settled_pass"])), float(str(r["settled_fail"])))
                           for r in sequential if r["at_the_line"])
    disagreements = sum(int(str(r.get("disagreements_with_paired_test", 0))) for r in numeric["size"])
    print(f"\nLargest size at the margin: paired binary {worst:.4f}, numeric {numeric_worst:.4f}, stop_early "
          f"{sequential_worst:.4f}; largest false-confirmation rate: binary {false_confirmed:.4f}, numeric "
          f"{numeric_false:.4f} (α = {ALPHA}); paired_test disagreeing with the vectorised path: {disagreements}")


def main() -> int:
    tables = paired_binary_tables()
    numeric = numeric_tables()
    sequential = sequential_tables()
    show(tables, numeric, sequential)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"alpha": ALPHA, "margin": MARGIN, "paired_binary": tables, "numeric": numeric,
                                  "sequential": sequential, "replicates": REPLICATES,
                                  "look_every": LOOK_EVERY},
                                  indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
