"""`taskeval init`: a starter configuration, its JSON Schema (for editor completion), one workflow for the gate's
whole life cycle (with `--shards N`, split over N runners), the `.gitignore` lines for what taskeval writes, and with
`--sample` a small benchmark, written into the current repository."""

from __future__ import annotations

import json
import subprocess
from importlib import resources
from pathlib import Path

from evaluator.core.errors import TaskevalError
from evaluator.core.files import write_files_atomically

CONFIG = Path("taskeval.yaml")
SCHEMA = Path("taskeval.schema.json")
WORKFLOW = Path(".github") / "workflows" / "taskeval.yml"
SAMPLE = Path("benchmarks") / "sample.jsonl"
GITIGNORE = Path(".gitignore")
IGNORED = (".taskeval-cache/", "taskeval-report/")
"""What taskeval writes into a repository and nobody should commit."""


def schema_text() -> str:
    from evaluator.inputs.config_schema import config_json_schema

    return json.dumps(config_json_schema(), indent=2) + "\n"


def template(name: str) -> str:
    return resources.files("evaluator").joinpath("templates", name).read_text(encoding="utf-8")


def default_branch(root: Path) -> str:
    """The repository's default branch as git knows it (origin's HEAD, else the current branch), else `main`."""
    for command in (["git", "symbolic-ref", "--short", "refs/remotes/origin/HEAD"],
                    ["git", "symbolic-ref", "--short", "HEAD"]):
        try:
            done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        name = done.stdout.strip().removeprefix("origin/")
        if done.returncode == 0 and name:
            return name
    return "main"


def gitignore_text(root: Path) -> str | None:
    """.gitignore with taskeval's lines added, or None when it has them already."""
    path = root / GITIGNORE
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    missing = [line for line in IGNORED if line not in text.splitlines()]
    if not missing:
        return None
    return text + ("" if not text or text.endswith("\n") else "\n") + "# taskeval's cache and reports\n" + \
        "".join(f"{line}\n" for line in missing)


MAX_SHARDS = 256
"""GitHub Actions runs at most 256 jobs of one matrix."""


def sharded_workflow(shards: int) -> str:
    """The sharded workflow for `shards` runners (the template is written for 4)."""
    if not 2 <= shards <= MAX_SHARDS:
        raise TaskevalError(f"--shards {shards}: a sharded workflow needs 2 to {MAX_SHARDS} shards",
                            "leave --shards out for the one-runner workflow")
    text = template("workflow-sharded.yml")
    for old, new in (("shard: [1, 2, 3, 4]", f"shard: [{', '.join(str(k) for k in range(1, shards + 1))}]"),
                     ("}}/4", f"}}}}/{shards}"), ("-of-4", f"-of-{shards}"), ("--shards 4", f"--shards {shards}"),
                     (" 4 runners", f" {shards} runners"), ("matrix of 4 jobs", f"matrix of {shards} jobs"),
                     ("its quarter of the", "its share of the"), ("the 4 records", f"the {shards} records")):
        assert old in text, old
        text = text.replace(old, new)
    return text


def init_project(root: Path, force: bool = False, sample: bool = False, shards: int | None = None) -> list[Path]:
    """Write the files under `root`; an existing one is an error unless `force` (.gitignore is only added to).
    With `shards`, the workflow splits the benchmark over that many runners. Returns what was written."""
    workflow = template("workflow.yml") if shards is None else sharded_workflow(shards)
    workflow = workflow.replace("branches: [main]", f"branches: [{default_branch(root)}]")
    files = {root / CONFIG: template("taskeval.yaml"), root / SCHEMA: schema_text(), root / WORKFLOW: workflow}
    if sample:
        files[root / SAMPLE] = template("sample-benchmark.jsonl")
    existing = [path for path in files if path.exists()]
    if existing and not force:
        raise TaskevalError(f"{existing[0]}: already exists; nothing was written",
                            "move it away, or run `taskeval init --force` to overwrite")
    ignore = gitignore_text(root)
    if ignore is not None:
        files[root / GITIGNORE] = ignore
    write_files_atomically(files)
    return list(files)
