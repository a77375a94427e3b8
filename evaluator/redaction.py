"""Secrets never leave the process: every configured secret (GitHub token, judge and served-model API keys) is
registered here once and replaced by `***` in every text taskeval writes, prints or posts.

A server may echo a key back in an error message (an `Authorization` header in a 401 body, say); redacting at the
points where text leaves, rather than where it enters, catches every such path.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

MASK = "***"
MIN_SECRET_LENGTH = 4
"""Shorter values are not secrets worth masking (and masking them would garble ordinary text)."""

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret so that `redact` removes it from every text from now on."""
    if value and len(value.strip()) >= MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value.strip())


def register_secrets(values: Iterable[str | None]) -> None:
    for value in values:
        register_secret(value)


def redact(text: str) -> str:
    """The text with every registered secret replaced by `***` (longest first, so no partial key survives)."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def forget_secrets() -> None:
    """For tests: start from no registered secrets."""
    with _lock:
        _secrets.clear()
