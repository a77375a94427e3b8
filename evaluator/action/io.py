"""The GitHub Actions runner's interface, with no network: inputs, outputs, step summary, workflow commands,
and handing written files back to the workspace's owner."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from evaluator.core.redaction import redact


def get_input(env: Mapping[str, str], name: str, default: str = "") -> str:
    """An action input from `INPUT_<NAME>`, in the dashed or the underscored spelling."""
    for key in (f"INPUT_{name.upper()}", f"INPUT_{name.upper().replace('-', '_')}"):
        value = env.get(key)
        if value is not None and value.strip() != "":
            return value.strip()
    return default


def _escaped(data: str) -> str:
    return data.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escaped_property(value: str) -> str:
    return _escaped(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, properties: Mapping[str, object] | None = None) -> None:
    """A workflow command (`::error file=…,line=…::…`, `::warning::`, ...), with its data and its properties
    escaped as the runner requires, and secrets redacted."""
    given = ",".join(f"{key}={_escaped_property(redact(str(value)))}" for key, value in (properties or {}).items())
    print(f"::{name}{' ' + given if given else ''}::{_escaped(redact(message))}", flush=True)


def mask(secret: str) -> None:
    """`::add-mask::` for a secret: the runner hides it in the log (the one place the secret itself is printed)."""
    if secret:
        print(f"::add-mask::{_escaped(secret)}", flush=True)


def set_outputs(env: Mapping[str, str], outputs: Mapping[str, str]) -> None:
    """Append outputs to GITHUB_OUTPUT with the multi-line delimiter syntax."""
    path = env.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        for name, value in outputs.items():
            delimiter = f"taskeval_{uuid.uuid4().hex}"
            handle.write(f"{name}<<{delimiter}\n{redact(value)}\n{delimiter}\n")


def append_summary(env: Mapping[str, str], markdown: str) -> None:
    path = env.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(redact(markdown).rstrip("\n") + "\n")


def hand_to_owner(paths: list[Path], workspace: Path) -> None:
    """Give files the container wrote (as root) to the workspace's owner, so the next checkout can delete them."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not workspace.exists():
        return
    owner = workspace.stat()
    for path in paths:
        if not path.exists():
            continue
        for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
            try:
                os.chown(item, owner.st_uid, owner.st_gid, follow_symlinks=False)
            except OSError:
                continue


class GuardedStdout(io.TextIOBase):
    """The job log (stdout) as a sink that cannot crash the job: a closed or broken stdout records why and drops
    the text, so the entrypoint can report ERROR through the sinks that still work instead of a traceback."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.failure: str | None = None if stream is not None else "stdout is closed"

    def write(self, text: str) -> int:
        if self.failure is None and self.stream is not None:
            try:
                self.stream.write(text)
            except (OSError, ValueError) as error:
                self.failure = str(error) or type(error).__name__
        return len(text)

    def flush(self) -> None:
        if self.failure is None and self.stream is not None:
            try:
                self.stream.flush()
            except (OSError, ValueError) as error:
                self.failure = str(error) or type(error).__name__
