"""Calls to OpenAI-compatible endpoints: the client, and retries with backoff that honour `Retry-After`.

Retried: 429, 5xx, time-outs and dropped connections. Not retried: any other 4xx, and a 5xx whose message says the
request itself was refused (a bad request stays bad).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def make_client(base_url: str | None, api_key: str | None, timeout_s: float) -> Any:
    """The official client, its own retries off (ours honour Retry-After and count attempts)."""
    from openai import OpenAI

    return OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout_s, max_retries=0)


def _retry_after(error: Exception) -> float | None:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue
    return None


def is_retryable(error: Exception) -> bool:
    import openai

    if isinstance(error, (openai.APITimeoutError, openai.APIConnectionError)):
        return True
    if isinstance(error, openai.APIStatusError):
        return error.status_code == 429 or (error.status_code >= 500 and not is_request_rejection(error))
    return False


REJECTION_WORDS = ("input should be", "validation error", "not supported", "unsupported", "invalid value",
                   "response_format")


def is_request_rejection(error: Exception) -> bool:
    """A 5xx that is the server refusing the request itself (some servers validate late and answer 500 with a
    validation message): retrying sends the same request again, so it is not retried."""
    message = str(getattr(error, "message", "") or error).lower()
    return any(word in message for word in REJECTION_WORDS)


def describe(error: Exception) -> str:
    """One line for a report: the status code when there is one."""
    status = getattr(error, "status_code", None)
    kind = type(error).__name__
    return f"{kind} (HTTP {status})" if status else kind


def call_with_retries(
    call: Callable[[], T], attempts: int, base_delay_s: float = 0.5, max_delay_s: float = 30.0,
    sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
) -> T:
    """`call()`, retried on retryable errors up to `attempts` times in all, with exponential backoff and full
    jitter, or the server's Retry-After when it gives one."""
    rng = rng or random.Random()
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as error:  # re-raised below unless retryable
            if attempt == attempts or not is_retryable(error):
                raise
            sleep(backoff_s(error, attempt, rng, base_delay_s, max_delay_s))
    raise AssertionError("unreachable")


def backoff_s(error: Exception, attempt: int, rng: random.Random, base_delay_s: float = 0.5,
              max_delay_s: float = 30.0) -> float:
    """How long to wait before attempt `attempt + 1`: the server's Retry-After when it gives one, else exponential
    backoff with full jitter."""
    wait = _retry_after(error)
    if wait is None:
        wait = rng.uniform(0, min(max_delay_s, base_delay_s * 2 ** (attempt - 1)))
    return min(wait, max_delay_s)
