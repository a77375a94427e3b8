"""The gate configuration: parsed once from YAML into frozen values, validated before anything runs.

Every section is a frozen dataclass whose fields are the allowed keys; each field's metadata names the accepted
YAML types. An unknown key, a wrong type or a bad value is a TaskevalError naming the file and the key, with a
"did you mean" for a near miss. Relative paths in a config are taken from the working directory (the repository
root in CI), like the paths on the command line.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from evaluator.core.errors import TaskevalError, did_you_mean
from evaluator.core.files import read_text
from evaluator.core.gate_comparisons import COMPARISONS
from evaluator.core.metrics import JUDGE_PREFIX, VS_BASELINE_SUFFIX, judge_metric, metric_definition, value_range
from evaluator.core.names import GateType, OnInconclusive, Require
from evaluator.core.yaml_lines import load_yaml, with_line
from evaluator.inputs.plugins import BACKENDS, JUDGE_PROVIDERS, LOCAL_JUDGES

NUMBER = (int, float)
GATE_TYPES = tuple(t.value for t in GateType)
OPTIONAL_STR = (str, type(None))


def _key(types: tuple[type, ...], default: Any = None, *, choices: tuple[str, ...] = ()) -> Any:
    """A config key: its accepted YAML types, its default and, for a string enum, its allowed values."""
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata={"types": types, "choices": choices})
    return field(default=default, metadata={"types": types, "choices": choices})


@dataclass(frozen=True)
class JudgeConfig:
    """Stage 2: the LLM judge."""

    provider: str = _key((str,), "openai")
    base_url: str | None = _key(OPTIONAL_STR, None)
    model: str = _key((str,), "gpt-4o-mini")
    sample_rate: float = _key(NUMBER, 0.10)
    min_samples: int = _key((int,), 10)
    seed: int = _key((int,), 0)
    budget_usd: float = _key(NUMBER, 2.00)
    concurrency: int = _key((int,), 8)
    timeout_s: float = _key(NUMBER, 60)
    prices: dict[str, Any] = _key((dict,), {
        "gpt-4o-mini": {"input": 0.15, "output": 0.60}, "gpt-4o": {"input": 2.50, "output": 10.00},
        "gpt-4.1-mini": {"input": 0.40, "output": 1.60}, "gpt-4.1": {"input": 2.00, "output": 8.00},
    })
    criteria: list[str] = _key((list,), ["accuracy", "helpfulness", "format_quality"])
    max_output_tokens: int = _key((int,), 400)
    max_attempts: int = _key((int,), 5)


@dataclass(frozen=True)
class RegressionConfig:
    """Stage 3: non-inferiority against the baseline."""

    threshold: float = _key(NUMBER, -0.05)
    alpha: float = _key(NUMBER, 0.05)
    metrics: list[str] | None = _key((list, type(None)), None)
    """None: the default set, DEFAULT_REGRESSION_METRICS, limited to what the run and the baseline both have."""
    margins: dict[str, Any] = _key((dict,), {})
    gate: str = _key((str,), GateType.BLOCKING.value, choices=GATE_TYPES)
    on_inconclusive: str = _key((str,), OnInconclusive.BLOCK.value, choices=tuple(o.value for o in OnInconclusive))

    def margin(self, metric: str) -> float:
        """The tolerated drop δ for a metric: its own margin, else −threshold."""
        return float(self.margins.get(metric, -self.threshold))


@dataclass(frozen=True)
class GenerationSettings:
    """Stage 1: how outputs are generated."""

    max_new_tokens: int = _key((int,), 128)
    batch_size: int | str = _key((int, str), "auto")
    dtype: str = _key((str,), "auto", choices=("auto", "float32", "float16", "bfloat16"))
    quantization: str = _key((str,), "none", choices=("none", "4bit", "8bit"))
    prompt_template: str = _key((str,), "{input}\n")
    system_prompt: str | None = _key(OPTIONAL_STR, None)
    allow_pickle: bool = _key((bool,), False)
    trust_remote_code: bool = _key((bool,), False)
    cache_dir: str = _key((str,), ".taskeval-cache")
    backend: str = _key((str,), "huggingface")
    """A name in evaluator/inputs/plugins.py's BACKENDS."""
    base_url: str | list[str] | None = _key((str, list, type(None)), None)
    """One server, or a list of replicas of the same model (docs/scaling.md)."""
    api: str = _key((str,), "chat", choices=("chat", "completions"))
    api_key_env: str = _key((str,), "OPENAI_API_KEY")
    concurrency: int = _key((int,), 8)
    timeout_s: float = _key(NUMBER, 120)
    max_attempts: int = _key((int,), 5)
    samples: int = _key((int,), 1)
    """Outputs generated per case (docs/usage.md, "Repeated samples"): each seeded by the case and its index."""
    temperature: float = _key(NUMBER, 0.0)
    """0: greedy decoding; above 0: sampling, seeded per case and sample so a re-run reproduces it."""
    top_p: float = _key(NUMBER, 1.0)
    """Nucleus sampling: only the most likely tokens whose probabilities sum to top_p are drawn from."""


@dataclass(frozen=True)
class MetricsConfig:
    """Stage 1: scoring."""

    schema: str | None = _key(OPTIONAL_STR, None)
    ignore_fields: list[str] = _key((list,), [])


@dataclass(frozen=True)
class SafetyConfig:
    """The red-team suite."""

    suite: str | None = _key(OPTIONAL_STR, None)
    refusal_action: str = _key((str,), "refuse")


@dataclass(frozen=True)
class LatencyConfig:
    """Single-request latency."""

    samples: int = _key((int,), 20)


@dataclass(frozen=True)
class CostConfig:
    """Prices of the evaluated model."""

    price_per_million_tokens: float | None = _key((int, float, type(None)), None)
    gpu_hour_usd: float | None = _key((int, float, type(None)), None)


@dataclass(frozen=True)
class GateConfig:
    """One quality gate."""

    name: str = _key((str,), "")
    metric: str = _key((str,), "")
    threshold: float = _key(NUMBER, 0.0)
    comparison: str = _key((str,), "greater_equal")
    gate_type: str = _key((str,), GateType.BLOCKING.value, choices=GATE_TYPES)
    description: str = _key((str,), "")
    require: str = _key((str,), Require.VALUE.value, choices=tuple(r.value for r in Require))


@dataclass(frozen=True)
class Config:
    """The whole configuration."""

    judge: JudgeConfig = field(default_factory=JudgeConfig)
    regression: RegressionConfig = field(default_factory=RegressionConfig)
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    latency: LatencyConfig = field(default_factory=LatencyConfig)
    cost: CostConfig = field(default_factory=CostConfig)
    quality_gates: tuple[GateConfig, ...] = ()
    stop_early: bool = False
    """Generate in a seeded random order and stop once every verdict is settled (docs/statistics.md, "Stopping
    early")."""
    source: str = "<built-in defaults>"
    digest: str = ""
    """SHA-256 of the configuration as written (not of the defaults, so a new taskeval key changes nothing)."""
    latency_asked: bool = False
    """The file has a `latency:` section: measure latency even with no gate or comparison reading it."""

    def to_json(self) -> dict[str, Any]:
        """The configuration as plain data, for the report and its fingerprint."""
        data = dataclasses.asdict(self)
        data.pop("source")
        data.pop("digest")
        data.pop("latency_asked")
        data["quality_gates"] = [dataclasses.asdict(g) for g in self.quality_gates]
        return data


DEFAULT_GATES = (
    GateConfig("format", "json_valid_rate", 0.95, "greater_equal", "blocking", "JSON validity >= 95% (default gate)"),
    GateConfig("accuracy", "accuracy", 0.85, "greater_equal", "blocking", "Accuracy >= 85% (default gate)"),
)
"""The gates of a configuration that has no `quality_gates` key (docs/configuration.md)."""
DEFAULT_REGRESSION_METRICS = ("accuracy", "json_valid_rate", "schema_valid_rate", "action_accuracy")

SECTIONS: dict[str, type] = {
    "judge": JudgeConfig,
    "regression": RegressionConfig,
    "generation": GenerationSettings,
    "metrics": MetricsConfig,
    "safety": SafetyConfig,
    "latency": LatencyConfig,
    "cost": CostConfig,
}
FLAT_ALIASES = {"llm_judge_sample_rate": ("judge", "sample_rate"), "regression_threshold": ("regression", "threshold")}
TOP_LEVEL_KEYS = [*SECTIONS, "quality_gates", "stop_early", *FLAT_ALIASES]
TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false", dict: "a mapping",
              list: "a list", type(None): "null"}

S = TypeVar("S")


def _type_ok(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in types
    return isinstance(value, types)


def _build(cls: type[S], data: Any, where: str, source: str) -> S:
    """A section dataclass from its YAML mapping, checking keys, types and enumerations."""
    if not isinstance(data, Mapping):
        raise TaskevalError(f"{source}: '{where}' must be a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{where}.{key}"
        if key not in fields:
            raise TaskevalError(f"{source}: unknown key '{path}'", did_you_mean(str(key), fields) or
                                f"allowed keys in '{where}': {', '.join(fields)}")
        meta = fields[key].metadata
        if not _type_ok(value, meta["types"]):
            wanted = " or ".join(TYPE_NAMES[t] for t in meta["types"] if t is not int or float not in meta["types"])
            raise TaskevalError(f"{source}: '{path}' must be {wanted}, got {value!r}", _number_hint(key, value, meta))
        if isinstance(value, float) and not math.isfinite(value):
            raise TaskevalError(f"{source}: '{path}' must be a finite number, got {value!r}")
        if meta["choices"] and value not in meta["choices"]:
            raise TaskevalError(f"{source}: '{path}' is {value!r}; allowed: {', '.join(meta['choices'])}",
                                did_you_mean(str(value), meta["choices"]))
        values[key] = value
    return cls(**values)


def _number_hint(key: str, value: Any, meta: Mapping[str, Any]) -> str | None:
    """For a number written as text (`"0.95"`, `95%`): the same number, written as YAML reads a number."""
    if float not in meta["types"] or not isinstance(value, str):
        return None
    text = value.strip().strip("'\"")
    try:
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        return None
    return f"write a number, without quotes or %: {key}: {number:g}"


COMPARISON_SPELLINGS = {"gte": ">=", "ge": ">=", "=>": ">=", "gt": ">", "lte": "<=", "le": "<=", "=<": "<=",
                        "lt": "<", "eq": "==", "=": "==", "≥": ">=", "≤": "<="}
"""Spellings of comparisons from other tools, and the one taskeval reads."""


def _check_rate(value: float, path: str, source: str) -> None:
    if not 0 < value <= 1:
        raise TaskevalError(f"{source}: '{path}' must be in (0, 1], got {value}")


def _check_values(config: Config, source: str) -> None:
    """Checks that span keys: ranges, metric names, batch size, judge prices."""
    _check_rate(config.judge.sample_rate, "judge.sample_rate", source)
    if not 0 < config.regression.alpha < 0.5:
        raise TaskevalError(f"{source}: 'regression.alpha' must be in (0, 0.5), got {config.regression.alpha}")
    _check_regression(config.regression, source)
    if config.latency.samples < 1:
        raise TaskevalError(f"{source}: 'latency.samples' must be at least 1, got {config.latency.samples}")
    for key in ("price_per_million_tokens", "gpu_hour_usd"):
        price = getattr(config.cost, key)
        if price is not None and price < 0:
            raise TaskevalError(f"{source}: 'cost.{key}' must not be negative, got {price}")
    batch = config.generation.batch_size
    if (isinstance(batch, str) and batch != "auto") or (isinstance(batch, int) and batch < 1):
        raise TaskevalError(f"{source}: 'generation.batch_size' must be a positive integer or 'auto', got {batch!r}")
    BACKENDS.check(config.generation.backend, f"{source}: generation.backend")
    if config.generation.backend == "openai" and not config.generation.base_url:
        raise TaskevalError(f"{source}: 'generation.backend: openai' needs 'generation.base_url'",
                            "for example base_url: http://localhost:8000/v1 for `vllm serve`")
    urls = config.generation.base_url
    if isinstance(urls, list) and (not all(isinstance(u, str) and u.strip() for u in urls) or
                                   len(set(urls)) != len(urls)):
        raise TaskevalError(f"{source}: 'generation.base_url' must be a URL or a list of distinct URLs (one per "
                            f"replica), got {urls!r}", "for example base_url: [http://gpu-1:8000/v1, "
                            "http://gpu-2:8000/v1]")
    if config.generation.concurrency < 1 or config.generation.max_attempts < 1:
        raise TaskevalError(f"{source}: 'generation.concurrency' and 'generation.max_attempts' must be at least 1")
    if config.generation.max_new_tokens < 1:
        raise TaskevalError(f"{source}: 'generation.max_new_tokens' must be at least 1")
    _check_sampling(config.generation, source)
    if "{input}" not in config.generation.prompt_template:
        raise TaskevalError(f"{source}: 'generation.prompt_template' must contain '{{input}}'",
                            'for example: prompt_template: "{input}\\n"')
    if config.cost.price_per_million_tokens is not None and config.cost.gpu_hour_usd is not None:
        raise TaskevalError(f"{source}: set one of 'cost.price_per_million_tokens' and 'cost.gpu_hour_usd'",
                            "a hosted model has a token price; a self-hosted one a GPU-hour price")
    _check_judge(config.judge, source)
    judge_metrics = {judge_metric(c) for c in [*config.judge.criteria, "overall"]}
    for gate in config.quality_gates:
        where = f"{source}: quality_gates '{gate.name}'"
        metric_definition(gate.metric, where)
        bounds = value_range(gate.metric)
        if bounds is not None and not bounds[0] <= gate.threshold <= bounds[1]:
            raise TaskevalError(f"{where}: threshold {gate.threshold:g} is outside [{bounds[0]:g}, {bounds[1]:g}], "
                                f"where '{gate.metric}' lies, so the gate could never or would always pass",
                                "a rate is a fraction: write 0.95 for 95%")
        base = gate.metric.removesuffix(VS_BASELINE_SUFFIX)
        if base.startswith(JUDGE_PREFIX) and base not in judge_metrics:
            hint = did_you_mean(base, judge_metrics) or f"judge metrics: {', '.join(sorted(judge_metrics))}"
            raise TaskevalError(f"{where}: '{gate.metric}' is not a configured judge criterion", hint)
        if gate.comparison in COMPARISON_SPELLINGS:
            raise TaskevalError(f"{where}: unknown comparison '{gate.comparison}'",
                                f"did you mean '{COMPARISON_SPELLINGS[gate.comparison]}'?")
        COMPARISONS.get(gate.comparison, f"{where}: comparison")


MAX_SAMPLES = 100
"""More samples per case than this is a typo rather than a plan: the run would cost that many times more."""


def _check_sampling(settings: GenerationSettings, source: str) -> None:
    if not 1 <= settings.samples <= MAX_SAMPLES:
        raise TaskevalError(f"{source}: 'generation.samples' must be an integer from 1 to {MAX_SAMPLES}, got "
                            f"{settings.samples}", "each sample is one more generation per case: 5 costs 5 times 1")
    if not 0 <= settings.temperature <= 2:
        raise TaskevalError(f"{source}: 'generation.temperature' must be in [0, 2], got {settings.temperature:g}",
                            "0 is greedy decoding; 0.7 is a common sampling temperature")
    if not 0 < settings.top_p <= 1:
        raise TaskevalError(f"{source}: 'generation.top_p' must be in (0, 1], got {settings.top_p:g}",
                            "1 draws from every token; 0.9 from the most likely ones making up 90%")


def _check_regression(settings: RegressionConfig, source: str) -> None:
    if not -1 < settings.threshold <= 0:
        raise TaskevalError(f"{source}: 'regression.threshold' must be in (-1, 0], got {settings.threshold}",
                            "it is the tolerated change: -0.05 tolerates a drop of 5 points")
    if settings.metrics is not None:
        if not settings.metrics or not all(isinstance(m, str) for m in settings.metrics):
            raise TaskevalError(f"{source}: 'regression.metrics' must be a non-empty list of metric names",
                                "leave it out for the default set")
        for name in settings.metrics:
            metric_definition(name, f"{source}: regression.metrics")
    for name, margin in settings.margins.items():
        metric_definition(str(name), f"{source}: regression.margins")
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin < 1:
            raise TaskevalError(f"{source}: 'regression.margins.{name}' must be a number in [0, 1), got {margin!r}",
                                "a margin is the tolerated drop: 0.05 is 5 points")


def _check_judge(judge: JudgeConfig, source: str) -> None:
    if judge.provider == "none":
        return
    JUDGE_PROVIDERS.check(judge.provider, f"{source}: judge.provider")
    if not judge.criteria or not all(isinstance(c, str) and c.isidentifier() for c in judge.criteria):
        raise TaskevalError(f"{source}: 'judge.criteria' must be a non-empty list of names")
    for key in ("min_samples", "concurrency", "max_output_tokens", "max_attempts"):
        if getattr(judge, key) < 1:
            raise TaskevalError(f"{source}: 'judge.{key}' must be at least 1")
    if judge.budget_usd < 0 or judge.timeout_s <= 0:
        raise TaskevalError(f"{source}: 'judge.budget_usd' must be ≥ 0 and 'judge.timeout_s' > 0")
    if judge.provider in LOCAL_JUDGES:  # runs here: a model on this machine, and no price
        if not Path(judge.model).exists():
            raise TaskevalError(f"{source}: 'judge.model' {judge.model!r} is not a local model folder or .gguf file",
                                f"judge.provider: {judge.provider} runs a model from this machine")
        return
    price = judge.prices.get(judge.model)
    if price is None:
        raise TaskevalError(
            f"{source}: judge model '{judge.model}' has no price in 'judge.prices'",
            f"add judge.prices.{judge.model}: {{input: <USD per 1M tokens>, output: <USD per 1M tokens>}}",
        )
    for model, entry in judge.prices.items():
        values = [entry.get(k) for k in ("input", "output")] if isinstance(entry, dict) else []
        if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                                 and v >= 0 for v in values):
            raise TaskevalError(f"{source}: 'judge.prices.{model}' must give 'input' and 'output' prices as finite, "
                                f"non-negative numbers (USD per million tokens), got {entry!r}",
                                f"for example judge.prices.{model}: {{input: 0.15, output: 0.60}}")


def _gates(data: Any, source: str) -> tuple[GateConfig, ...]:
    if not isinstance(data, list):
        raise TaskevalError(f"{source}: 'quality_gates' must be a list of gates, got {type(data).__name__}")
    gates = []
    for index, item in enumerate(data):
        gate = _build(GateConfig, item, f"quality_gates[{index}]", source)
        for required in ("name", "metric"):
            if not getattr(gate, required):
                raise TaskevalError(f"{source}: quality_gates[{index}] has no '{required}'",
                                    "each gate needs name, metric, threshold and comparison")
        for required in ("threshold", "comparison"):
            if required not in item:
                raise TaskevalError(f"{source}: quality_gates[{index}] ('{gate.name}') has no '{required}'",
                                    "each gate needs name, metric, threshold and comparison")
        gates.append(gate)
    if not any(g.gate_type == GateType.BLOCKING for g in gates):
        raise TaskevalError(f"{source}: 'quality_gates' has no blocking gate, so no run could ever be blocked",
                            "add one, e.g. {name: accuracy, metric: accuracy, threshold: 0.85, comparison: "
                            "greater_equal, gate_type: blocking}; leave quality_gates out for the default gates")
    names = [g.name for g in gates]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TaskevalError(f"{source}: gate names must be unique; repeated: {', '.join(duplicates)}")
    return tuple(gates)


def parse_config(data: Any, source: str) -> Config:
    """A Config from parsed YAML (None for an empty file)."""
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise TaskevalError(f"{source}: the configuration must be a YAML mapping, got {type(data).__name__}")
    sections: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for key, value in data.items():
        if key in SECTIONS:
            if value is not None and not isinstance(value, Mapping):
                raise TaskevalError(f"{source}: '{key}' must be a mapping, got {type(value).__name__}")
            sections[key].update(value or {})
        elif key not in TOP_LEVEL_KEYS:
            raise TaskevalError(f"{source}: unknown key '{key}'", did_you_mean(str(key), TOP_LEVEL_KEYS) or
                                f"allowed top-level keys: {', '.join(TOP_LEVEL_KEYS)}")
    for alias, (section, key) in FLAT_ALIASES.items():
        if alias in data:
            if key in sections[section] and sections[section][key] != data[alias]:
                raise TaskevalError(f"{source}: '{alias}' and '{section}.{key}' disagree",
                                    f"'{alias}' is the original design's name for '{section}.{key}'; keep one")
            sections[section][key] = data[alias]
    built: dict[str, Any] = {name: _build(cls, sections[name], name, source) for name, cls in SECTIONS.items()}
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    gates = _gates(data["quality_gates"], source) if "quality_gates" in data else DEFAULT_GATES
    stop_early = data.get("stop_early", False)
    if not isinstance(stop_early, bool):
        raise TaskevalError(f"{source}: 'stop_early' must be true or false, got {stop_early!r}")
    config = Config(**built, quality_gates=gates, stop_early=stop_early, source=source, digest=digest,
                    latency_asked="latency" in data)
    _check_values(config, source)
    return config


def load_config(path: str | Path | None) -> Config:
    """The configuration from a YAML file, or the built-in defaults when no file is given."""
    if path is None:
        return parse_config({}, "<built-in defaults>")
    source = str(path)
    text = read_text(Path(path), "config file", "--config")
    data = load_yaml(text, source)
    try:
        return parse_config(data, source)
    except TaskevalError as error:
        raise with_line(error, source, text) from None


LATENCY_METRICS = ("latency_p50_ms", "latency_p95_ms")


def latency_reader(config: Config) -> str | None:
    """What reads the latency stage's figures (a gate, the comparison, or the config's own `latency:` section), or
    None: then the stage does not run, since it costs a model call per sample (docs/usage.md, "Which stages run")."""
    gate = next((g.name for g in config.quality_gates if g.metric.removesuffix(VS_BASELINE_SUFFIX) in LATENCY_METRICS),
                None)
    if gate is not None:
        return f"gate '{gate}'"
    if set(config.regression.metrics or ()) & set(LATENCY_METRICS):
        return "regression.metrics"
    return "the config's latency: section" if config.latency_asked else None
