"""The Action's static files, checked without Docker: action.yml against GitHub's schema, the Dockerfile with
hadolint, the workflows against GitHub's workflow schema, and the inputs matching
what the Action (evaluator/action/) reads."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT

SPEC_INPUTS = {"model", "benchmark", "config", "predictions", "baseline", "baseline-release", "baseline-asset",
               "update-baseline", "github-token", "openai-api-key", "comment", "check-run", "check-name",
               "output-dir", "fail-on", "mode", "pr-number"}
ADDED_INPUTS = {"trust-remote-code", "accept-regression", "stop-early", "shard", "shard-records"}
"""Inputs added to the documented set (docs/action.md): letting a model's own code run, accepting a regression."""
SPEC_OUTPUTS = {"decision", "deploy-allowed", "report-json", "report-markdown", "baseline-updated", "summary"}
ADDED_OUTPUTS = {"shard-record", "report-html"}
WORKFLOWS = sorted([*(ROOT / "examples" / "workflows").glob("*.yml"), *(ROOT / ".github" / "workflows").glob("*.yml"),
                    *(ROOT / "evaluator" / "templates").glob("*.yml")])


def tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    assert Path(found).exists(), f"{name} is not installed: `pip install -e .[dev]` installs it"
    return found


def test_action_yml_validates_against_the_github_action_schema() -> None:
    done = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions",
                           str(ROOT / "action.yml")], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_validate_against_the_github_workflow_schema(workflow: Path) -> None:
    done = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_passes_hadolint() -> None:
    done = subprocess.run([tool("hadolint"), str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_has_no_user_or_workdir_and_runs_the_entrypoint() -> None:
    instructions = [line.split()[0] for line in (ROOT / "Dockerfile").read_text().splitlines()
                    if line.strip() and not line.startswith((" ", "#"))]
    assert "USER" not in instructions and "WORKDIR" not in instructions
    text = (ROOT / "Dockerfile").read_text()
    assert text.index("requirements.txt \\") < text.index("COPY evaluator") < text.index('--no-deps "/opt/taskeval"')
    assert 'ENTRYPOINT ["python", "/opt/taskeval/entrypoint.py"]' in (ROOT / "Dockerfile").read_text()


def test_action_inputs_and_outputs_are_those_of_the_spec_and_of_the_entrypoint() -> None:
    from evaluator.action.main import ActionInputs as Inputs

    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert set(action["inputs"]) == SPEC_INPUTS | ADDED_INPUTS
    assert set(action["outputs"]) == SPEC_OUTPUTS | ADDED_OUTPUTS
    assert {f.name.replace("_", "-") for f in dataclasses.fields(Inputs)} == SPEC_INPUTS | ADDED_INPUTS
    assert action["runs"] == {"using": "docker", "image": "Dockerfile"}
    assert action["inputs"]["github-token"]["default"] == "${{ github.token }}"
    assert all(value.get("description") for value in action["inputs"].values())


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_pin_third_party_actions_and_keep_expressions_out_of_scripts(workflow: Path) -> None:
    """A tag can be moved under a workflow; a SHA cannot. And `${{ }}` inside `run:` is pasted into the script as
    text, so a step output or an event field could inject commands: they go through `env:`."""
    import re

    data = yaml.safe_load(workflow.read_text())
    steps = [step for job in data["jobs"].values() for step in job.get("steps", [])]
    for step in steps:
        uses = step.get("uses", "")
        if uses and not uses.startswith(("org/taskeval-action@", "./")):
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses), f"{workflow.name}: {uses} is not pinned"
        assert "${{" not in step.get("run", ""), f"{workflow.name}: an expression inside run: {step['run'][:60]}"


def test_every_input_default_is_the_one_the_action_applies() -> None:
    """action.yml's defaults (what a workflow gets) and what the Action applies when the input is empty or absent
    (a local run, an older runner) agree value for value."""
    from evaluator.action.main import ActionInputs as Inputs

    action = yaml.safe_load((ROOT / "action.yml").read_text())
    required = {name for name, spec in action["inputs"].items() if spec.get("required")}
    applied = Inputs.from_env({"GITHUB_TOKEN": "the-runner-token", "INPUT_PREDICTIONS": "p.jsonl",
                               **{f"INPUT_{name.upper()}": "given" for name in required}})
    for name, spec in ((n, s) for n, s in action["inputs"].items() if n not in required and n != "predictions"):
        value = getattr(applied, name.replace("-", "_"))
        default = spec.get("default", "")
        if default == "${{ github.token }}":  # the expression GitHub fills in: the Action falls back to the same
            assert value == "the-runner-token", name
        elif isinstance(value, bool):
            assert value is (str(default).lower() == "true"), name
        else:
            assert value == str(default), name
