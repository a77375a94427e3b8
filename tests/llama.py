"""llama.cpp's OpenAI-compatible server (llama-cpp-python[server], which `make test` installs) serving
SmolLM2-135M-Instruct's GGUF on loopback: a real server for the served backend, the judge and the replica benchmark."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers import smollm2

SERVED_NAME = "smollm2-135m-instruct"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def llama_server(log: Path, *options: str) -> Iterator[str]:
    """A server on a free port until the block ends; yields its base URL. `options`: more server flags."""
    assert importlib.util.find_spec("llama_cpp"), "llama-cpp-python is not installed: `make dev-install` builds it"
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2()), "--model_alias", SERVED_NAME,
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", *options],
            stdout=sink, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        while True:  # until it answers, or exits: no deadline a loaded machine could miss
            assert process.poll() is None, f"llama.cpp's server exited: {log.read_text(errors='replace')[-2000:]}"
            try:
                with urllib.request.urlopen(f"{base_url}/models") as reply:
                    assert SERVED_NAME in reply.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        yield base_url
    finally:
        process.terminate()
        process.wait()
