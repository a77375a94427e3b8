"""Where a key stands in a YAML file, so a configuration error names its line and a check-run annotation points at
the gate it is about."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from evaluator.errors import TaskevalError


def key_lines(text: str) -> dict[str, int]:
    """Key path → its 1-based line: `judge.sample_rate`, `quality_gates[2]`, and a named gate as
    `quality_gates 'accuracy'` (the way errors name gates)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = f"{path}.{key.value}" if path else str(key.value)
                lines.setdefault(child, key.start_mark.line + 1)
                if key.value == "name" and isinstance(value, yaml.ScalarNode) and "[" in path:
                    lines.setdefault(f"{path.split('[')[0]} '{value.value}'", node.start_mark.line + 1)
                walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines.setdefault(f"{path}[{index}]", item.start_mark.line + 1)
                walk(item, f"{path}[{index}]")

    walk(root, "")
    return lines


def gate_lines(path: Path) -> dict[str, int]:
    """Gate name → the line of its entry in a config file (for check-run annotations); empty when unreadable."""
    try:
        lines = key_lines(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return {}
    prefix = "quality_gates '"
    return {key[len(prefix):-1]: line for key, line in lines.items() if key.startswith(prefix)}


def with_line(error: TaskevalError, source: str, text: str) -> TaskevalError:
    """The error with the line of the key it names: `file:12: ...` instead of `file: ...`."""
    prefix = f"{source}: "
    if not error.message.startswith(prefix):
        return error
    lines = key_lines(text)
    rest = error.message[len(prefix):]
    named = [*re.findall(r"quality_gates '[^']+'", rest), *re.findall(r"'([^']+)'", rest),
             *re.findall(r"quality_gates\[\d+\]", rest)]
    line = next((lines[name] for name in named if name in lines), None)
    return error if line is None else TaskevalError(f"{source}:{line}: {rest}", error.hint)
