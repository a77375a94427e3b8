"""The calibration of taskeval's verdicts, from the project's own statistics functions.

    python benchmarks/calibration.py            # a few minutes on 2 cores

Paired binary metrics (accuracy, json_valid_rate, ...) are computed exactly: the verdicts depend on the table only
through b (broke) and c (fixed), which follow a multinomial law given the discordance ψ and the true change Δ, so
every (b, c) with probability above 1e-12 is enumerated. The baseline's rate does not enter, except in which
(ψ, Δ) are possible (b ≤ rate, c ≤ 1 − rate); at a 5-point margin, ψ below 5% cannot hold a 5-point drop.
Numeric metrics (judge scores, field_accuracy) are simulated (4,000 replicates per cell, 1,000 at n = 2,000;
seeded), through the comparison's own dispatch.

Printed: the size at the margin (how often a true drop of exactly δ passes; must be ≤ α), the A/A block rate,
false confirmations at Δ = 0, and power (confirmed regression) at true drops of 5 and 10 points.
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

from evaluator.stats import (  # noqa: E402
    PairedTable,
    mcnemar_midp_worse,
    newcombe_paired_interval,
    tango_statistic,
    z_value,
)

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
                rows["size"].append({"n": n, "psi": psi, **at_margin})
            equal = rates(n, psi, 0.0)
            assert equal is not None
            rows["aa"].append({"n": n, "psi": psi, "block": 1 - equal["pass"], "confirmed": equal["confirmed"]})
            for drop in (0.05, 0.10):
                dropped = rates(n, psi, -drop)
                if dropped is not None:
                    rows["power"].append({"n": n, "psi": psi, "drop": drop, "confirmed": dropped["confirmed"],
                                          "block": 1 - dropped["pass"]})
    return rows


def numeric_scenarios(rng: np.random.Generator, n: int, reps: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(baseline, candidate) per-case scores in [0, 1], each with a true mean change of −δ."""
    u, level = rng.random((reps, n)), rng.integers(2, 5, size=(reps, n)) / 4  # baseline judge levels 0.5..1
    ones = np.ones((reps, n))
    return {
        "5% of 0/1 scores fail": (ones, 1.0 - (u < 0.05)),
        "20% drop one judge level": (level, level - 0.25 * (u < 0.20)),
        "10% fail, 5% recover (0/1)": (np.where(u < 0.10, 1.0, np.where(u < 0.15, 0.0, 1.0)),
                                       np.where(u < 0.10, 0.0, 1.0)),
        "30% down, 10% up a level": (level * 0 + 0.75, 0.75 + np.where(u < 0.30, -0.25, np.where(u < 0.40, 0.25, 0))),
        "4% of levels fail outright": (level, np.where(u < 0.05 / 0.75, level * 0, level)),
    }


def numeric_tables(reps: int = 4_000) -> list[dict[str, object]]:
    """Through `paired_test`, the comparison's own dispatch: all-0/1 scores go to the Tango path, others to the t
    bound with one worst-case case."""
    from scipy.stats import t

    from evaluator.comparison import paired_test

    rng = np.random.default_rng(0)
    rows: list[dict[str, object]] = []
    for n in SIZES:
        for name, (before, after) in numeric_scenarios(rng, n, reps).items():
            differences = after - before
            plain = differences.mean(1) - t.ppf(1 - ALPHA, n - 1) * differences.std(1, ddof=1) / math.sqrt(n)
            count = reps if n <= 500 else reps // 4
            passes = [paired_test("field_accuracy", list(a), list(b), ALPHA).good_low > -MARGIN
                      for a, b in zip(after[:count], before[:count])]
            rows.append({"n": n, "scenario": name, "true_change": float(differences.mean()),
                         "pass": float(np.mean(passes)), "pass_plain_t": float(np.mean(plain > -MARGIN)),
                         "replicates": count})
    return rows


def show(tables: dict[str, list[dict[str, object]]], numeric: list[dict[str, object]]) -> None:
    print(f"Paired binary metrics, exact. α = {ALPHA}, margin δ = {MARGIN:.2f}.\n")
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
    print("\nNumeric metrics (simulated): size at the margin, P(pass | true mean change = −δ)")
    print(f"{'n':>5} {'scenario':<28} {'Δ':>7} {'taskeval':>9} {'plain t':>8} {'replicates':>11}")
    for row in numeric:
        print(f"{row['n']:>5} {row['scenario']:<28} {row['true_change']:>7.4f} {row['pass']:>9.4f} "
              f"{row['pass_plain_t']:>8.4f} {row['replicates']:>11}")
    worst = max(float(str(r["pass"])) for r in tables["size"])
    false_confirmed = max(float(str(r["confirmed"])) for r in tables["aa"])
    print(f"\nLargest size at the margin (paired binary): {worst:.4f}; largest false-confirmation rate: "
          f"{false_confirmed:.4f} (α = {ALPHA})")


def main() -> int:
    tables = paired_binary_tables()
    numeric = numeric_tables()
    show(tables, numeric)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"alpha": ALPHA, "margin": MARGIN, "paired_binary": tables, "numeric": numeric},
                                  indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
