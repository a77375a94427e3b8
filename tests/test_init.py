"""`taskeval init` and `taskeval schema`: a starter a newcomer can validate, a schema generated from the config's
one definition, and config errors that give the line."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from evaluator.cli import main
from tests.helpers import EXAMPLES


def test_init_in_an_empty_repository_gives_a_config_validate_accepts_and_the_schema_describes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    config = tmp_path / "taskeval.yaml"
    assert config.read_text().startswith("# yaml-language-server: $schema=./taskeval.schema.json\n")
    assert (tmp_path / ".github" / "workflows" / "taskeval.yml").exists()
    assert main(["validate", "--config", str(config)]) == 0
    assert "3 gates, 2 blocking" in capsys.readouterr().out
    schema = json.loads((tmp_path / "taskeval.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(config.read_text()), schema)
    assert main(["init"]) == 2  # nothing is overwritten without --force
    assert "already exists" in capsys.readouterr().err
    assert main(["init", "--force"]) == 0


def test_schema_is_printed_and_agrees_with_the_validator(capsys: pytest.CaptureFixture) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid(yaml.safe_load((EXAMPLES / "config.yaml").read_text()))
    assert not validator.is_valid({"judge": {"sampel_rate": 0.2}})  # unknown key
    assert not validator.is_valid({"judge": {"provider": "anthropic"}})  # not a registered provider
    assert not validator.is_valid({"quality_gates": [{"name": "a", "metric": "accuracy", "threshold": 0.8,
                                                      "comparison": "about"}]})
    assert schema["properties"]["generation"]["properties"]["max_new_tokens"]["default"] == 128


@pytest.mark.parametrize(("text", "line", "key"), [
    ("judge:\n  provider: none\n  sampel_rate: 0.2\n", 3, "judge.sampel_rate"),
    ("quality_gates:\n  - {name: a, metric: accuracy, threshold: 0.8, comparison: '>='}\n"
     "  - {name: b, metric: acuracy, threshold: 0.8, comparison: '>='}\n", 3, "acuracy"),
    ("latency:\n  samples: 0\n", 2, "latency.samples"),
])
def test_config_errors_give_the_line(tmp_path: Path, capsys: pytest.CaptureFixture, text: str, line: int,
                                     key: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert main(["validate", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{line}: " in err and key in err


def test_init_writes_one_workflow_for_the_whole_life_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".gitignore").write_text("node_modules/")
    assert main(["init", "--sample"]) == 0
    workflow = yaml.safe_load((tmp_path / ".github" / "workflows" / "taskeval.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"pull_request", "push", "workflow_dispatch"}
    assert triggers["push"]["branches"] == ["main"]  # no git here: the usual default branch
    jobs = workflow["jobs"]
    pull, production = jobs["pull-request"], jobs["production"]
    assert pull["if"] == "github.event_name == 'pull_request'" and production["if"] == "github.event_name != " \
        "'pull_request'"
    assert pull["permissions"] == {"contents": "read", "pull-requests": "write", "checks": "write"}
    assert production["permissions"] == {"contents": "write", "checks": "write"} and workflow["permissions"] == {}

    def gate_steps(job: dict) -> list[dict]:
        return [step for step in job["steps"] if step.get("uses", "").startswith("org/taskeval-action")]

    for job, update in ((pull, "false"), (production, "auto")):
        validate, gate = gate_steps(job)
        assert validate["with"]["mode"] == "validate"  # the inputs are checked before the model runs
        assert gate["with"]["update-baseline"] == update and "mode" not in gate["with"]
    assert (tmp_path / ".gitignore").read_text().splitlines() == [
        "node_modules/", "# taskeval's cache and reports", ".taskeval-cache/", "taskeval-report/"]
    sample = tmp_path / "benchmarks" / "sample.jsonl"
    assert main(["validate", "--config", "taskeval.yaml", "--benchmark", str(sample)]) == 0
    assert "27 cases" in capsys.readouterr().out
    assert main(["init", "--force"]) == 0  # .gitignore is not added to twice
    assert (tmp_path / ".gitignore").read_text().count("taskeval-report/") == 1


def test_init_shards_writes_the_matrix_workflow_the_action_understands(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`taskeval init --shards 3`: a matrix of 3 shard jobs, each uploading the artifact the gate job downloads, and
    two gate jobs after them (pull request; default branch); valid against GitHub's workflow schema."""
    import subprocess
    import sys

    from evaluator.action.main import SHARD_ARTIFACT_PREFIX
    from evaluator.core.sharding import parse_shard

    monkeypatch.chdir(tmp_path)
    assert main(["init", "--shards", "3"]) == 0
    path = tmp_path / ".github" / "workflows" / "taskeval.yml"
    text = path.read_text()
    assert "-of-4" not in text and "/4" not in text and "--shards 3" in text
    workflow = yaml.safe_load(text)
    shard_job = workflow["jobs"]["shard"]
    assert shard_job["strategy"]["matrix"]["shard"] == [1, 2, 3] and shard_job["strategy"]["fail-fast"] is False
    action, upload = [s for s in shard_job["steps"] if s.get("id") == "shard" or "upload-artifact" in s.get("uses", "")]
    assert action["with"]["mode"] == "shard" and action["with"]["shard"] == "${{ matrix.shard }}/3"
    assert parse_shard(action["with"]["shard"].replace("${{ matrix.shard }}", "3")).count == 3
    assert upload["with"]["name"] == f"{SHARD_ARTIFACT_PREFIX}${{{{ matrix.shard }}}}-of-3"
    assert upload["with"]["path"] == "${{ steps.shard.outputs.shard-record }}"
    for name, update in (("gate-pull-request", "false"), ("gate-production", "auto")):
        job = workflow["jobs"][name]
        assert job["needs"] == "shard" and job["permissions"]["actions"] == "read"
        (gate,) = [s for s in job["steps"] if s.get("uses", "").startswith("org/taskeval-action")]
        assert gate["with"]["mode"] == "gate" and gate["with"]["update-baseline"] == update
    checker = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run([str(checker), "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert main(["init", "--force", "--shards", "1"]) == 2  # one shard is the plain workflow
