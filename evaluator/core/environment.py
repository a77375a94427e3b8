"""The run's environment: what it ran on, with which library versions, and how an interrupt ends it."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata

from evaluator import __version__

LIBRARIES = ("torch", "transformers", "tokenizers", "peft", "bitsandbytes", "jsonschema", "scipy")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that can change results (read from metadata, nothing is imported)."""
    versions = {"python": platform.python_version(), "taskeval": __version__}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def quiet_libraries() -> None:
    """`--quiet` (and the Action): no progress bars or info logs from Hugging Face libraries. Set before they are
    imported, which is when they read these."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def current_commit() -> str | None:
    """The commit being evaluated: GITHUB_SHA in Actions, else the working tree's HEAD, else None."""
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def workflow_run_url() -> str | None:
    """The GitHub Actions run this is part of, when it is one."""
    parts = [os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    return f"{parts[0]}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else None


def _interrupted(signal_number: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def interrupts_end_the_run() -> Iterator[None]:
    """The one interrupt policy of the CLI and the Action: SIGTERM (a CI time-out, a cancelled job: the container's
    PID 1 gets it) ends the run as Ctrl-C does, with a KeyboardInterrupt that each turns into an ERROR and no verdict;
    outputs generated so far stay in the cache. The previous handlers come back on exit."""
    previous = {number: signal.signal(number, _interrupted) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
