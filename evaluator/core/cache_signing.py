"""The on-disk caches (outputs and judge verdicts) are signed, because they live in the workspace, which a pull
request controls (docs/security.md, "The caches").

Each cached row carries an HMAC-SHA256 over what it is bound to (the model, its generation settings and the input;
for a verdict, the judge and the case) and its content. The key is never in the workspace: it comes from the
environment variable TASKEVAL_CACHE_KEY (the Action: a repository secret), else from a key file outside the
repository, `$XDG_CONFIG_HOME/taskeval/cache.key` (default `~/.config/taskeval/cache.key`), created once with mode
0600. A row that does not verify is not used: it is generated again, and the run says how many.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluator.core.errors import TaskevalError
from evaluator.core.files import dumps_strict
from evaluator.core.redaction import register_secret

KEY_ENV = "TASKEVAL_CACHE_KEY"
MIN_KEY_LENGTH = 16


@dataclass(frozen=True)
class CacheSigner:
    """Signs and checks cache rows with a key that a pull request cannot read or write."""

    key: bytes
    origin: str
    """Where the key came from (the variable's name or the key file), for messages."""

    def sign(self, bound: Any, content: Any) -> str:
        """The row's MAC over what it is bound to and what it holds (canonical JSON)."""
        message = dumps_strict([bound, content], sort_keys=True, separators=(",", ":")).encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def verify(self, bound: Any, content: Any, mac: object) -> bool:
        if not isinstance(mac, str):
            return False
        try:
            return hmac.compare_digest(self.sign(bound, content), mac)
        except ValueError:  # content that is not strict JSON (NaN) was never signed
            return False


def key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "taskeval" / "cache.key"


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _file_key(path: Path) -> bytes:
    """The key in `path`, made (0600, in a 0700 folder) when there is none yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another run made it first
            return path.read_bytes().strip()
        with os.fdopen(handle, "w", encoding="ascii") as stream:
            stream.write(secrets.token_hex(32) + "\n")
    return path.read_bytes().strip()


def cache_signer() -> tuple[CacheSigner | None, str | None]:
    """The signer for this machine's caches, or None and why (the caches are then off for this run).

    A key from TASKEVAL_CACHE_KEY shorter than 16 characters is an input error; a key file inside the workflow's
    workspace (GITHUB_WORKSPACE, which a pull request writes) is refused."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    value = os.environ.get(KEY_ENV, "")
    if value:
        if len(value) < MIN_KEY_LENGTH:
            raise TaskevalError(f"{KEY_ENV} is {len(value)} characters long; a cache key needs at least "
                                f"{MIN_KEY_LENGTH}", "set it from a secret, e.g. `openssl rand -hex 32`, or unset it "
                                "to use a key file outside the repository")
        register_secret(value)
        return CacheSigner(value.encode(), KEY_ENV), None
    path = key_file()
    if workspace and _inside(path, Path(workspace)):
        return None, (f"the cache key file {path} is inside the workspace, which a pull request can write; the "
                      f"caches are off for this run (set {KEY_ENV} or XDG_CONFIG_HOME outside the repository)")
    try:
        key = _file_key(path)
    except OSError as error:
        return None, (f"no cache key could be read or made at {path} ({error.strerror or error}); the caches are "
                      f"off for this run (set {KEY_ENV} to keep them)")
    if len(key) < MIN_KEY_LENGTH:
        return None, f"the cache key file {path} holds too short a key; delete it to make a new one (caches off)"
    return CacheSigner(key, str(path)), None
