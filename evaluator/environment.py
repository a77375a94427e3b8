"""The run's fingerprint: what was evaluated, on what, with which library versions."""

from __future__ import annotations

import os
import platform
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
