"""The layers of evaluator/ point one way (docs/development.md, "Development"): no module imports, at module level, a
module of a higher layer. Read from the source with `ast`, not by eye. Imports inside a function (the lazy heavy
libraries and plugins) are not arrows of the layering and are not counted."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import ROOT

LAYERS = ("core", "inputs", "generation", "stages", "report", "pipeline", "top")
"""Lowest first. `top`: cli, init_project, __main__ and the Action (evaluator/action/)."""
TOP = {"cli", "init_project", "__main__", "action"}


def layer_of(module: str) -> int:
    """The layer of `evaluator.<first part>…`."""
    first = module.split(".")[1] if "." in module else ""
    if first in TOP:
        return LAYERS.index("top")
    if first in LAYERS:
        return LAYERS.index(first)
    raise AssertionError(f"{module} belongs to no layer: put it in one of {', '.join(LAYERS)}")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_level_imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every `evaluator.…` import outside functions (TYPE_CHECKING blocks included:
    an annotation is an arrow too)."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("evaluator."):
                found.append((child.lineno, child.module))
            elif isinstance(child, ast.Import):
                found.extend((child.lineno, a.name) for a in child.names if a.name.startswith("evaluator."))
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def test_every_arrow_points_down() -> None:
    upward = []
    for path in sorted((ROOT / "evaluator").rglob("*.py")):
        name = module_name(path)
        if name == "evaluator":
            continue
        mine = layer_of(name)
        for line, imported in module_level_imports(path):
            if layer_of(imported) > mine:
                upward.append(f"{path.relative_to(ROOT)}:{line} ({LAYERS[mine]}) imports {imported} "
                              f"({LAYERS[layer_of(imported)]})")
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The test above could pass by reading nothing: here it must find the one arrow that points up."""
    source = tmp_path / "probe.py"
    source.write_text("from evaluator.core.names import Stage\nfrom evaluator.report.writer import report_json\n"
                      "def later():\n    from evaluator.pipeline import run\n")
    imports = module_level_imports(source)
    assert [m for _, m in imports] == ["evaluator.core.names", "evaluator.report.writer"]
    assert [layer_of(m) > layer_of("evaluator.stages.gates") for _, m in imports] == [False, True]
