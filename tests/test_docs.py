"""The docs where they can drift from the code: every configuration key, every Action input, the command synopsis,
the life-cycle workflow the README describes, and the README's first-hour commands, run as written."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from evaluator.cli import build_parser, main
from tests.helpers import ROOT, TINY_MODELS

README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = ROOT / "docs"


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


def test_configuration_md_lists_every_key_the_schema_knows(capsys: pytest.CaptureFixture) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    block = blocks((DOCS / "configuration.md").read_text(encoding="utf-8"), "yaml")[0]
    sections = {match.group(1): match.start() for match in re.finditer(r"^(\w+):", block, re.MULTILINE)}
    for section, spec in schema["properties"].items():
        assert section in sections, f"configuration.md does not show '{section}'"
        later = [start for start in sections.values() if start > sections[section]]
        text = block[sections[section]:min(later, default=len(block))]
        for key in spec.get("properties", {}):
            assert re.search(rf"\b{key}:", text), f"configuration.md does not show '{section}.{key}'"


def test_action_md_lists_every_input_of_action_yml() -> None:
    inputs = yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]
    table = (DOCS / "action.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([\w-]+)` \|", table, re.MULTILINE))
    assert set(inputs) <= documented, set(inputs) - documented


def test_the_usage_synopsis_is_the_parser() -> None:
    synopsis = blocks((DOCS / "usage.md").read_text(encoding="utf-8"), "")[0]
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, parser in commands.items():
        flags = {flag for action in parser._actions for flag in action.option_strings if flag.startswith("--")}
        line = " ".join(re.findall(rf"taskeval {name}\b.*(?:\n +\[.*)*", synopsis))
        assert line, f"usage.md's synopsis has no `taskeval {name}`"
        assert flags - {"--help"} == set(re.findall(r"--[\w-]+", line)), name


def test_the_readme_describes_the_workflow_init_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    written = yaml.safe_load((tmp_path / ".github" / "workflows" / "taskeval.yml").read_text())
    described = yaml.safe_load(next(b for b in blocks(README, "yaml") if "workflow_dispatch" in b))
    assert set(described[True]) == set(written[True])  # triggers (YAML 1.1 reads `on` as true)
    assert set(described["jobs"]) == set(written["jobs"])
    steps = [s for s in written["jobs"]["pull-request"]["steps"] if "taskeval-action" in s.get("uses", "")]
    assert [s["with"] for s in described["jobs"]["pull-request"]["steps"]] == [
        {k: v for k, v in s["with"].items() if k != "openai-api-key"} for s in steps]


def test_the_readme_first_hour_commands_run_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture) -> None:
    """`taskeval init --sample`, `validate` and `run` from the README, in an empty repository; `<your model>` is
    the one placeholder, filled with a tiny test model."""
    monkeypatch.chdir(tmp_path)
    block = next(b for b in blocks(README, "bash") if "taskeval init" in b)
    commands = [line.split("  #")[0].strip() for line in block.splitlines() if line.startswith("taskeval ")]
    assert [c.split()[1] for c in commands] == ["init", "validate", "run"]
    for command in commands:
        argv = shlex.split(command.replace("<your model folder>", str(TINY_MODELS / "tiny-v2")))[1:]
        code = main([*argv, "--quiet"] if argv[0] == "run" else argv)
        assert code in ((0, 1) if argv[0] == "run" else (0,)), (command, capsys.readouterr())
    assert (tmp_path / "taskeval-report" / "report.json").is_file()


def test_the_action_docs_example_is_the_job_init_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    written = yaml.safe_load((tmp_path / ".github" / "workflows" / "taskeval.yml").read_text())["jobs"]["pull-request"]
    example = yaml.safe_load(blocks((DOCS / "action.md").read_text(encoding="utf-8"), "yaml")[0])["jobs"]
    shown = example["pull-request"]
    assert shown["permissions"] == written["permissions"] and shown["if"] == written["if"]

    def gate_steps(job: dict) -> list[dict]:
        return [step["with"] for step in job["steps"] if "taskeval-action" in step.get("uses", "")]

    assert gate_steps(shown) == gate_steps(written)
