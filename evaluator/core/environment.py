"""The run's fingerprint: what was evaluated, on what, with which library versions."""

from __future__ import annotations

import os
import platform
import subprocess
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
