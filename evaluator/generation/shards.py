"""Shard records (docs/scaling.md): what `taskeval run --shard K/N` writes, and what `taskeval gate` reads, checks and
merges into one backend that answers every case from the shards' outputs.

A merge fails closed: a missing shard, a shard given twice, shards that disagree on the model, the configuration, the
benchmark, the seed or the environment, and a shard cut short are each an error naming the shard and what differs.
The gate then scores, judges, compares and gates the whole benchmark once, exactly as one unsharded run would.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluator.core.errors import TaskevalError
from evaluator.core.files import read_text, strict_json
from evaluator.core.json_checks import validation_errors
from evaluator.core.records import BatchCallback, Generation, LatencySample, Request, sample_index
from evaluator.core.sharding import Shard
from evaluator.generation.cache import ROW_TYPES, generation_fields

SHARD_RECORD_VERSION = 1
RECORD_GLOB = "shard-*-of-*.json"
FIX = "run every shard again from the same commit (`taskeval run --shard K/N`), then `taskeval gate` on all N records"

_COUNT = {"type": "integer", "minimum": 1}
_OUTPUTS = {"type": "object", "additionalProperties": {"type": "object"}}
RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["shard_record_version", "shard", "settings", "description", "libraries", "case_ids", "outputs",
                 "red_team", "latency", "durations", "notes", "checks", "started_at", "commit"],
    "properties": {
        "shard_record_version": {"const": SHARD_RECORD_VERSION},
        "shard": {"type": "object", "required": ["index", "count"], "additionalProperties": False,
                  "properties": {"index": _COUNT, "count": _COUNT}},
        "settings": {"type": "object", "additionalProperties": False,
                     "required": ["taskeval", "benchmark_sha256", "cases", "total_cases", "config_sha256", "seed",
                                  "limit", "model", "environment"],
                     "properties": {"taskeval": {"type": "string"}, "benchmark_sha256": {"type": "string"},
                                    "cases": {"type": "integer", "minimum": 0},
                                    "total_cases": {"type": "integer", "minimum": 0},
                                    "config_sha256": {"type": "string"}, "seed": {"type": "integer"},
                                    "limit": {"type": ["integer", "null"]}, "model": {"type": "object"},
                                    "environment": {"type": "object"}}},
        "description": {"type": "string"},
        "libraries": {"type": "object", "additionalProperties": {"type": "string"}},
        "case_ids": {"type": "array", "items": {"type": "string"}},
        "outputs": _OUTPUTS,
        "samples": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "object"}}},
        "red_team": {"anyOf": [{"type": "null"}, _OUTPUTS]},
        "latency": {"anyOf": [{"type": "null"}, {"type": "array", "items": {
            "type": "object", "required": ["id", "latency_ms", "completion_tokens"], "additionalProperties": False,
            "properties": {"id": {"type": "string"}, "latency_ms": {"type": "number", "minimum": 0},
                           "completion_tokens": {"type": "integer", "minimum": 0}}}}]},
        "durations": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
        "notes": {"type": "array", "items": {"type": "string"}},
        "checks": {"type": "array", "items": {"type": "object"}},
        "started_at": {"type": "string"},
        "commit": {"type": ["string", "null"]},
    },
}
"""The shape of a shard record; `read_record` checks every record against it before believing any of it."""


@dataclass(frozen=True)
class RunSettings:
    """What every shard of one run, and the gate that merges them, must agree on."""

    taskeval: str
    """The taskeval version (scoring may change between versions)."""
    benchmark_sha256: str
    """The digest of the cases this run evaluates (after --limit)."""
    cases: int
    total_cases: int
    config_sha256: str
    """The configuration file's digest: generation settings, prompt, metrics, gates."""
    seed: int
    limit: int | None
    model: dict[str, Any]
    """The backend's fingerprint of the model (weights' digest, dtype, quantization, device…)."""
    environment: dict[str, Any]
    """Device, GPU, CUDA, Python, torch and transformers versions."""


GATE_KNOWS = ("taskeval", "benchmark_sha256", "cases", "total_cases", "config_sha256", "seed", "limit")
"""The settings the gate computes for itself from its own inputs (the model and the environment only the shards
know)."""


def _generation_json(generation: Generation) -> dict[str, Any]:
    return {**{name: getattr(generation, name) for name in ROW_TYPES}, "cached": generation.cached}


@dataclass(frozen=True)
class ShardRecord:
    """One shard's outputs, and what they were generated with."""

    shard: Shard
    settings: RunSettings
    description: str
    """What produced the outputs, in words."""
    libraries: dict[str, str]
    case_ids: tuple[str, ...]
    """The benchmark cases this shard holds, in the run's order."""
    outputs: dict[str, Generation]
    """Case id → output, for every case in `case_ids`."""
    red_team: dict[str, Generation] | None
    """The shard's part of the red-team suite (None: the backend could not answer it, e.g. a predictions file)."""
    latency: tuple[LatencySample, ...] | None
    """The latency stage's timed requests of this shard's cases (None: the stage does not run)."""
    durations: dict[str, float]
    """Seconds each model stage took on this shard (for the report and the GPU-hour cost)."""
    notes: tuple[str, ...]
    checks: tuple[dict[str, Any], ...]
    """The shard's cases scored (as report.json's `cases`), for a reader; the gate scores the outputs again."""
    started_at: str
    commit: str | None
    samples: dict[str, tuple[Generation, ...]] = dataclasses.field(default_factory=dict)
    """With generation.samples above 1: case id → its samples past the first (`outputs` holds the first)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "shard_record_version": SHARD_RECORD_VERSION, "shard": {"index": self.shard.index,
                                                                    "count": self.shard.count},
            "settings": dataclasses.asdict(self.settings), "description": self.description,
            "libraries": self.libraries, "case_ids": list(self.case_ids),
            "outputs": {key: _generation_json(g) for key, g in self.outputs.items()},
            **({"samples": {key: [_generation_json(g) for g in more] for key, more in self.samples.items()}}
               if self.samples else {}),
            "red_team": None if self.red_team is None else {k: _generation_json(g) for k, g in self.red_team.items()},
            "latency": None if self.latency is None else [dataclasses.asdict(t) for t in self.latency],
            "durations": self.durations, "notes": list(self.notes), "checks": list(self.checks),
            "started_at": self.started_at, "commit": self.commit,
        }


def _generation(row: Any, path: Path, where: str) -> Generation:
    fields = generation_fields(row)
    if fields is None or not isinstance(row.get("cached", False), bool):
        raise TaskevalError(f"{path}: {where} is not an output as taskeval writes it "
                            "(output, truncated, token counts, latency_ms, cached)", FIX)
    return Generation(**fields, cached=bool(row.get("cached", False)))


def _generations(rows: dict[str, Any], path: Path, key: str) -> dict[str, Generation]:
    return {case_id: _generation(row, path, f"{key}.{case_id}") for case_id, row in rows.items()}


def read_record(path: Path) -> ShardRecord:
    """A shard record, checked against its schema; errors name the file and the key."""
    text = read_text(path, "shard record", "taskeval gate")
    try:
        data = strict_json(text)
    except ValueError as error:
        raise TaskevalError(f"{path}: the shard record is not valid JSON ({error})", FIX) from None
    version = data.get("shard_record_version") if isinstance(data, dict) else None
    if isinstance(data, dict) and version != SHARD_RECORD_VERSION:
        raise TaskevalError(f"{path}: shard record version {version!r}; this taskeval reads version "
                            f"{SHARD_RECORD_VERSION}", "run the shards and the gate with the same taskeval")
    problems = validation_errors(data, RECORD_SCHEMA)
    if problems:
        raise TaskevalError(f"{path}: not a shard record as taskeval writes it: {'; '.join(problems)}", FIX)
    shard = Shard(data["shard"]["index"], data["shard"]["count"])
    if shard.index > shard.count:
        raise TaskevalError(f"{path}: shard {shard} does not exist (K must be at most N)", FIX)
    latency = data["latency"]
    return ShardRecord(
        shard=shard, settings=RunSettings(**data["settings"]), description=data["description"],
        libraries=data["libraries"], case_ids=tuple(data["case_ids"]),
        outputs=_generations(data["outputs"], path, "outputs"),
        red_team=None if data["red_team"] is None else _generations(data["red_team"], path, "red_team"),
        latency=None if latency is None else tuple(LatencySample(**t) for t in latency),
        durations=data["durations"], notes=tuple(data["notes"]), checks=tuple(data["checks"]),
        started_at=data["started_at"], commit=data["commit"],
        samples={case_id: tuple(_generation(row, path, f"samples.{case_id}[{i}]") for i, row in enumerate(rows))
                 for case_id, rows in data.get("samples", {}).items()},
    )


def record_paths(given: Sequence[Path]) -> list[Path]:
    """The record files: each file given, and every `shard-K-of-N.json` in each folder given."""
    paths: list[Path] = []
    for path in given:
        if path.is_dir():
            found = sorted(path.glob(RECORD_GLOB))
            if not found:
                raise TaskevalError(f"{path}: no shard records ({RECORD_GLOB}) in this folder",
                                    "give the folder the shard jobs' records were downloaded to, or the files")
            paths += found
        else:
            paths.append(path)
    if not paths:
        raise TaskevalError("no shard records given", "taskeval gate SHARD_RECORDS… (files, or a folder of them)")
    return paths


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _differences(ours: dict[str, Any], theirs: dict[str, Any], names: tuple[str, str]) -> list[str]:
    """`key: A (ours) ≠ B (theirs)` for each key whose values differ (one level into the model and environment)."""

    def line(key: str, a: Any, b: Any) -> str:
        return f"{key}: {_shown(a)} ({names[0]}) ≠ {_shown(b)} ({names[1]})"

    found = []
    for key in ours:
        a, b = ours[key], theirs.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            found += [line(f"{key}.{k}", a.get(k), b.get(k)) for k in sorted({*a, *b}) if a.get(k) != b.get(k)]
        else:
            found.append(line(key, a, b))
    return found


def check_complete(records: Sequence[tuple[Path, ShardRecord]]) -> int:
    """Every shard of one N exactly once; returns N."""
    counts = {record.shard.count for _, record in records}
    if len(counts) != 1:
        described = ", ".join(f"{path} is shard {record.shard}" for path, record in records)
        raise TaskevalError(f"the shard records split the benchmark different ways: {described}", FIX)
    (count,) = counts
    seen: dict[int, Path] = {}
    for path, record in records:
        if record.shard.index in seen:
            raise TaskevalError(f"shard {record.shard} was given twice: {seen[record.shard.index]} and {path}",
                                "give each shard's record once")
        seen[record.shard.index] = path
    missing = [str(Shard(index, count)) for index in range(1, count + 1) if index not in seen]
    if missing:
        raise TaskevalError(f"shard {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing (have "
                            f"{len(records)} of {count} records): a merge never decides on part of the benchmark",
                            "wait for every shard job to finish and give all the records (a failed shard: run it "
                            "again)")
    return count


def check_agreement(records: Sequence[tuple[Path, ShardRecord]], gate: dict[str, Any]) -> None:
    """Every shard ran the same model, configuration, benchmark, seed and environment as the first, and as the
    gate's own inputs."""
    first_path, first = records[0]
    first_settings = dataclasses.asdict(first.settings)
    mine = {key: first_settings[key] for key in GATE_KNOWS}
    differ = _differences(gate, mine, ("the gate's", f"shard {first.shard}'s"))
    if differ:
        raise TaskevalError(f"shard {first.shard} ({first_path}) was run on other inputs than the gate's: "
                            f"{'; '.join(differ)}",
                            "run the gate with the shards' commit, --config, --benchmark, --seed and --limit")
    for path, record in records[1:]:
        differ = _differences(first_settings, dataclasses.asdict(record.settings),
                              (f"shard {first.shard}", f"shard {record.shard}"))
        if differ:
            raise TaskevalError(f"shard {record.shard} ({path}) differs from shard {first.shard} ({first_path}): "
                                f"{'; '.join(differ)}", "every shard must run the same model, configuration, "
                                "benchmark and settings in the same environment; " + FIX)


def check_contents(path: Path, record: ShardRecord, case_ids: Sequence[str], red_team_ids: Sequence[str],
                   latency_ids: Sequence[str] | None, samples: int = 1) -> None:
    """The record holds exactly the cases the benchmark puts in its shard, with an output (with k samples per case,
    k outputs) for each."""
    shard = record.shard
    short = [i for i in record.case_ids if len(record.samples.get(i, ())) != samples - 1]
    if short or set(record.samples) - set(record.case_ids):
        raise TaskevalError(f"shard {shard} ({path}) does not hold {samples} sample(s) of every case, as "
                            f"generation.samples says (first wrong: {(short or sorted(record.samples))[0]!r})", FIX)
    for what, wanted, have in (("benchmark cases", [i for i in case_ids if shard.holds(i)], list(record.case_ids)),
                               ("outputs", [i for i in case_ids if shard.holds(i)], list(record.outputs)),
                               ("red-team outputs", [i for i in red_team_ids if shard.holds(i)],
                                list(record.red_team or {}) if record.red_team is not None else None),
                               ("latency samples", [i for i in latency_ids if shard.holds(i)]
                                if latency_ids is not None else None,
                                [t.id for t in record.latency] if record.latency is not None else None)):
        if wanted is None or have is None:
            continue
        missing = [i for i in wanted if i not in set(have)]
        extra = [i for i in have if i not in set(wanted)]
        if missing:
            raise TaskevalError(f"shard {shard} ({path}) is cut short: it has {len(wanted) - len(missing)} of the "
                                f"{len(wanted)} {what} this benchmark puts in it (missing: "
                                f"{', '.join(map(repr, missing[:5]))}{' …' if len(missing) > 5 else ''})", FIX)
        if extra or len(have) != len(wanted):
            raise TaskevalError(f"shard {shard} ({path}) holds {what} that are not in shard {shard} of this "
                                f"benchmark: {', '.join(map(repr, extra[:5])) or 'a case twice'}", FIX)


class RecordedBackend:
    """The merged shards as a backend: every output read from a record (nothing generated)."""

    runs_model = False

    def __init__(self, records: Sequence[ShardRecord]) -> None:
        first = records[0]
        self.records = tuple(sorted(records, key=lambda r: r.shard.index))
        self.description = first.description
        self.settings = first.settings
        self.libraries = first.libraries
        self._outputs: dict[tuple[str, int], Generation] = {}
        for record in self.records:
            for outputs in (record.outputs, record.red_team or {}):
                self._outputs.update({(case_id, 0): g for case_id, g in outputs.items()})
            self._outputs.update({(case_id, j): g for case_id, more in record.samples.items()
                                  for j, g in enumerate(more, start=1)})
        self.latency: tuple[LatencySample, ...] | None = (
            None if first.latency is None else tuple(t for r in self.records for t in r.latency or ()))
        self.notes = tuple(dict.fromkeys(note for r in self.records for note in r.notes))
        """What the shards had to say (a replica marked down), each once."""

    def duration(self, stage: str) -> float:
        """The seconds a model stage took, summed over the shards (`stage`: its name, or the Stage)."""
        return sum(r.durations.get(str(stage), 0.0) for r in self.records)

    def fingerprint(self) -> dict[str, object]:
        return dict(self.settings.model)

    def covers(self, requests: Sequence[Request]) -> bool:
        return all((r.id, sample_index(r)) in self._outputs for r in requests)

    def cache_key(self) -> None:
        return None

    def generate(self, cases: Sequence[Request], on_batch: BatchCallback | None = None) -> list[Generation]:
        generations = [self._outputs[(case.id, sample_index(case))] for case in cases]
        if on_batch is not None:
            on_batch(list(zip(cases, generations)))
        return generations



def merge_records(paths: Sequence[Path], gate: dict[str, Any], case_ids: Sequence[str],
                  red_team_ids: Sequence[str], latency_ids: Sequence[str] | None, samples: int = 1
                  ) -> RecordedBackend:
    """Read, check and merge the records: all N shards once, agreeing with each other and with the gate's inputs,
    each holding exactly its cases. `latency_ids`: the cases the latency stage times (None: it does not run)."""
    records = [(path, read_record(path)) for path in paths]
    check_complete(records)
    check_agreement(records, gate)
    if len({r.red_team is None for _, r in records}) > 1:
        raise TaskevalError("some shards answered the red-team suite and others did not", FIX)
    if len({r.latency is None for _, r in records}) > 1:
        raise TaskevalError("some shards measured latency and others did not", FIX)
    for path, record in records:
        check_contents(path, record, case_ids, red_team_ids,
                       latency_ids if record.latency is not None else None, samples)
    return RecordedBackend([record for _, record in records])
