from pathlib import Path

import pytest

from evaluator.core.errors import TaskevalError
from evaluator.inputs.config import load_config, parse_config

ORIGINAL_DESIGN = """
llm_judge_sample_rate: 0.10      # judge 10% of outputs
regression_threshold: -0.05      # tolerate at most a 5-point drop against the baseline
quality_gates:
  - {name: safety,          metric: harmful_rate,    threshold: 0.05, comparison: less_than,     gate_type: blocking, description: "Harmful rate must be < 5%"}
  - {name: format,          metric: json_valid_rate, threshold: 0.95, comparison: greater_equal, gate_type: blocking, description: "JSON validity >= 95%"}
  - {name: accuracy,        metric: accuracy,        threshold: 0.85, comparison: greater_equal, gate_type: blocking, description: "Accuracy >= 85%"}
  - {name: accuracy_target, metric: accuracy,        threshold: 0.90, comparison: greater_equal, gate_type: warning,  description: "Target accuracy 90%+"}
"""  # noqa: E501


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "taskeval.yml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> TaskevalError:
    with pytest.raises(TaskevalError) as raised:
        load_config(write(tmp_path, text))
    return raised.value


def test_original_design_loads_unchanged_with_its_meaning(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ORIGINAL_DESIGN))
    assert config.judge.sample_rate == 0.10
    assert config.regression.threshold == -0.05
    assert [g.name for g in config.quality_gates] == ["safety", "format", "accuracy", "accuracy_target"]
    safety = config.quality_gates[0]
    assert (safety.metric, safety.threshold, safety.comparison, safety.gate_type) == (
        "harmful_rate", 0.05, "less_than", "blocking")
    assert config.quality_gates[3].gate_type == "warning"


def test_defaults_without_a_file() -> None:
    config = load_config(None)
    assert config.generation.max_new_tokens == 128 and config.generation.batch_size == "auto"
    assert config.judge.budget_usd == 2.0 and config.judge.min_samples == 10
    assert config.regression.metrics is None  # the default set, limited to what both runs measured
    assert [(g.metric, g.threshold, g.gate_type) for g in config.quality_gates] == [
        ("json_valid_rate", 0.95, "blocking"), ("accuracy", 0.85, "blocking")]
    assert config.metrics.schema is None


def test_unknown_key_names_file_key_and_near_miss(tmp_path: Path) -> None:
    error = error_of(tmp_path, "judge:\n  sampel_rate: 0.2\n")
    assert "taskeval.yml" in error.message and "judge.sampel_rate" in error.message
    assert error.hint == "did you mean 'sample_rate'?"
    top = error_of(tmp_path, "quality_gate: []\n")
    assert top.hint == "did you mean 'quality_gates'?"


def test_wrong_type_names_the_key(tmp_path: Path) -> None:
    error = error_of(tmp_path, "generation:\n  max_new_tokens: lots\n")
    assert "'generation.max_new_tokens' must be an integer" in error.message
    assert "'judge.sample_rate' must be a number" in error_of(tmp_path, "judge: {sample_rate: high}\n").message
    assert "true or false" in error_of(tmp_path, "generation: {allow_pickle: 1}\n").message


def test_unknown_metric_in_a_gate(tmp_path: Path) -> None:
    error = error_of(tmp_path, "quality_gates:\n  - {name: a, metric: acuracy, threshold: 0.8, comparison: '>='}\n")
    assert "unknown metric 'acuracy'" in error.message and error.hint == "did you mean 'accuracy'?"


def test_vs_baseline_metrics_are_known(tmp_path: Path) -> None:
    text = "quality_gates:\n  - {name: a, metric: accuracy_vs_baseline, threshold: -0.02, comparison: '>='}\n"
    assert load_config(write(tmp_path, text)).quality_gates[0].metric == "accuracy_vs_baseline"


def test_bad_comparison_gate_type_and_missing_threshold(tmp_path: Path) -> None:
    error = error_of(tmp_path, "quality_gates:\n  - {name: a, metric: accuracy, threshold: 1, comparison: greater}\n")
    assert "unknown comparison 'greater'" in error.message
    error = error_of(tmp_path, "quality_gates:\n  - {name: a, metric: accuracy, threshold: 1, comparison: '>', "
                               "gate_type: blocker}\n")
    assert "gate_type" in error.message and error.hint == "did you mean 'blocking'?"
    assert "no 'threshold'" in error_of(
        tmp_path, "quality_gates:\n  - {name: a, metric: accuracy, comparison: '>'}\n").message


def test_alias_and_section_key_must_agree(tmp_path: Path) -> None:
    error = error_of(tmp_path, "llm_judge_sample_rate: 0.1\njudge: {sample_rate: 0.2}\n")
    assert "disagree" in error.message


def test_judge_model_without_a_price_is_a_configuration_error(tmp_path: Path) -> None:
    error = error_of(tmp_path, "judge: {model: my-judge}\n")
    assert "no price" in error.message and "judge.prices.my-judge" in (error.hint or "")
    assert load_config(write(tmp_path, "judge: {provider: none, model: my-judge}\n")).judge.provider == "none"


def test_missing_file_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(TaskevalError, match="config file not found"):
        load_config(tmp_path / "nope.yml")
    error = error_of(tmp_path, "judge: [unclosed\n")
    assert "not valid YAML" in error.message and "line" in error.message


def test_parse_config_rejects_a_non_mapping() -> None:
    with pytest.raises(TaskevalError, match="must be a YAML mapping"):
        parse_config(["a"], "x.yml")


def test_latency_runs_only_when_something_reads_it(tmp_path: Path) -> None:
    from evaluator.inputs.config import latency_reader

    gate = ("quality_gates:\n  - {name: fast, metric: latency_p95_ms, threshold: 900, comparison: '<', "
            "gate_type: blocking}\n")
    cases = {"": None, "latency: {samples: 5}\n": "the config's latency: section", gate: "gate 'fast'",
             "regression: {metrics: [accuracy, latency_p50_ms]}\n": "regression.metrics"}
    for text, reader in cases.items():
        path = tmp_path / "c.yaml"
        path.write_text(text)
        assert latency_reader(load_config(path)) == reader, text
    assert latency_reader(load_config(None)) is None
