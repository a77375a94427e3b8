"""`taskeval init`: a starter configuration, its JSON Schema (for editor completion) and a pull-request workflow,
written into the current repository."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from evaluator.errors import TaskevalError
from evaluator.files import write_files_atomically

CONFIG = Path("taskeval.yaml")
SCHEMA = Path("taskeval.schema.json")
WORKFLOW = Path(".github") / "workflows" / "taskeval.yml"


def schema_text() -> str:
    from evaluator.config_schema import config_json_schema

    return json.dumps(config_json_schema(), indent=2) + "\n"


def template(name: str) -> str:
    return resources.files("evaluator").joinpath("templates", name).read_text(encoding="utf-8")


def init_project(root: Path, force: bool = False) -> list[Path]:
    """Write the three files under `root`; an existing one is an error unless `force`. Returns what was written."""
    files = {root / CONFIG: template("taskeval.yaml"), root / SCHEMA: schema_text(),
             root / WORKFLOW: template("pull-request.yml")}
    existing = [path for path in files if path.exists()]
    if existing and not force:
        raise TaskevalError(f"{existing[0]}: already exists; nothing was written",
                            "move it away, or run `taskeval init --force` to overwrite")
    write_files_atomically(files)
    return list(files)
