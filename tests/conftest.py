"""Every test run keeps the output cache's key file (evaluator/core/cache_signing.py) in a folder of its own, never in
the home folder of whoever runs the tests, and reaches no model hub (HF_HUB_OFFLINE), in CI or not."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _cache_key_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    previous = {name: os.environ.get(name) for name in ("XDG_CONFIG_HOME", "HF_HUB_OFFLINE", "TASKEVAL_CACHE_KEY")}
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config-home"))
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.pop("TASKEVAL_CACHE_KEY", None)
    yield
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
