"""Reading YAML safely, and where a key stands in it, so a configuration error names its line and a check-run
annotation points at the gate it is about.

The configuration comes from the repository, which a pull request controls: it is read with a loader that refuses
aliases (a few hundred bytes of nested aliases expand to gigabytes), duplicate keys (which YAML would resolve
silently to the last) and nesting deeper than the JSON readers allow."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from evaluator.core.errors import TaskevalError
from evaluator.core.files import MAX_DEPTH


class UnsafeYaml(yaml.YAMLError):
    """A construct the strict loader refuses, with the 1-based line it stands on."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message, self.line = message, line


class StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader without aliases, duplicate keys or deep nesting."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise UnsafeYaml("YAML aliases (*name) are not allowed in a taskeval configuration; write the value out",
                             event.start_mark.line + 1)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise UnsafeYaml(f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise UnsafeYaml(f"duplicate key '{key}' (lines {seen[key]} and {line}); keep one", line)
            if isinstance(key, (str, int, float, bool)):
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, source: str) -> object:
    """YAML text through the strict loader; every refusal or syntax error is a TaskevalError naming the line."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader
    except UnsafeYaml as error:
        raise TaskevalError(f"{source}:{error.line}: {error.message}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise TaskevalError(f"{source}:{line} is not valid YAML: {getattr(error, 'problem', error)}") from None


def key_lines(text: str) -> dict[str, int]:
    """Key path → its 1-based line: `judge.sample_rate`, `quality_gates[2]`, and a named gate as
    `quality_gates 'accuracy'` (the way errors name gates)."""
    try:
        root = yaml.compose(text, Loader=StrictLoader)
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
