"""Flaky cases (generation.samples above 1): the cases right in some samples and wrong in others, worst first, each
with its distinct outputs, how often each came and whether it was right. report.md names the worst on its first
screen; report.json keeps all of them beside every sample."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from evaluator.report.markdown_text import code, escape_cell
from evaluator.stages.results import RunResult
from evaluator.stages.scoring import CaseResult, samples_per_case


@dataclass(frozen=True)
class DistinctOutput:
    """One output a flaky case gave, and how often."""

    output: str
    count: int
    right: bool
    """Whether the `accuracy` check passes on it."""


@dataclass(frozen=True)
class FlakyCase:
    id: str
    input: str
    right: int
    """Samples right, of `samples`."""
    samples: int
    outputs: tuple[DistinctOutput, ...]
    """Most frequent first."""


def flaky_cases(cases: Sequence[CaseResult]) -> list[FlakyCase]:
    """Every flaky case, worst first: nearest an even split of right and wrong, then the most distinct outputs."""
    found = []
    for case in (c for c in cases if c.flaky):
        counts = Counter(s.output for s in case.samples)
        right = {s.output: s.checks.get("accuracy") is True for s in case.samples}
        outputs = tuple(DistinctOutput(text, n, right[text]) for text, n in counts.most_common())
        found.append(FlakyCase(case.id, case.input, sum(1 for s in case.samples if s.checks.get("accuracy") is True),
                               len(case.samples), outputs))
    return sorted(found, key=lambda f: (abs(f.right / f.samples - 0.5), -len(f.outputs), f.id))


def sampling_json(result: RunResult) -> dict[str, Any]:
    """report.json's `sampling` section, with several samples per case (empty otherwise)."""
    k = samples_per_case(result.cases)
    if k == 1:
        return {}
    generation = result.config.generation
    flaky = flaky_cases(result.cases)
    return {"sampling": {"samples": k, "temperature": generation.temperature, "top_p": generation.top_p,
                         "generation_cost_multiplier": k, "flaky_cases": len(flaky),
                         "flaky": [asdict(f) for f in flaky]}}


def sampling_words(result: RunResult) -> str | None:
    """The headline's note on sampling: `× 5 samples per case at temperature 0.7 (5× the generation cost)`."""
    k = samples_per_case(result.cases)
    if k == 1:
        return None
    generation = result.config.generation
    top_p = f", top_p {generation.top_p:g}" if generation.top_p < 1 else ""
    return f"× {k} samples per case at temperature {generation.temperature:g}{top_p} ({k}× the generation cost)"


def flaky_section(result: RunResult, limit: int = 5) -> list[str]:
    """How many cases are flaky, and the worst of them with their distinct outputs (✅ right, ❌ wrong)."""
    k = samples_per_case(result.cases)
    if k == 1:
        return []
    flaky = flaky_cases(result.cases)
    total = len(result.cases)
    if not flaky:
        return [f"**Flaky cases: none** — every case gave the same verdict in all {k} samples.", ""]
    lines = [f"### Flaky cases: {len(flaky)} of {total} ({len(flaky) / total:.0%})", "",
             f"Right in some of their {k} samples and wrong in others (`flaky_rate`; `pass_all_k` counts the cases "
             "right in every sample). The worst:", "",
             "| id | request | right | outputs (count) |", "|---|---|---|---|"]
    for case in flaky[:limit]:
        outputs = "<br>".join(f"{'✅' if o.right else '❌'} {o.count}× {code(o.output, 120)}" for o in case.outputs[:4])
        more = f"<br>… {len(case.outputs) - 4} more" if len(case.outputs) > 4 else ""
        lines.append(f"| {code(case.id, 40)} | {escape_cell(case.input)} | {case.right}/{case.samples} | "
                     f"{outputs}{more} |")
    if len(flaky) > limit:
        lines.append(f"| … | {len(flaky) - limit} more in report.json (`sampling.flaky`) | | |")
    return [*lines, ""]
