"""Secrets never leave the process (docs/security.md, "Secrets").

Two nets, applied by `redact` to raw text before anything truncates, escapes or formats it:

- the values of every secret the run knows: the judge's and a served model's API keys, the GitHub token, and every
  environment variable whose name contains KEY, TOKEN, SECRET or PASSWORD. A value cut short is caught too: any
  run of at least `MIN_FRAGMENT` characters from the start or the end of a secret is masked;
- the shapes of secrets, known or not: `sk-…`, `ghp_`/`ghs_`/`github_pat_…`, `Bearer …` and `Authorization:` values.

A stand-in is not a secret: values shorter than `MIN_SECRET_LENGTH` characters, or made of one word of the
report's own vocabulary (`none`, `dummy`, …), are not masked, since masking them would garble ordinary text
("judge.provider is ***"); `register_secret` says so, and the run reports it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping

MASK = "***"
MIN_SECRET_LENGTH = 8
"""Shorter values are stand-ins, not secrets (and masking them would garble ordinary text)."""
MIN_FRAGMENT = 12
"""A run of this many characters from either end of a known secret is masked (a key cut by a length limit)."""
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.IGNORECASE)
"""Environment variables whose values are secrets."""

STAND_IN_WORDS = frozenset("""
    none null nil true false yes no empty unset unused dummy placeholder changeme secret token key apikey password
    test testing local localhost example sample default disabled ignored notneeded anything nokey required optional
    openai ollama vllm llama llamacpp lmstudio sglang server judge model provider deploy block error passed failed
    skipped blocking warning accuracy baseline taskeval
""".split())
"""One-word values that are the report's own vocabulary or a usual stand-in for 'no key' (a local server)."""

SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|token|basic)\s+)?[^\s\"',;]+"),
     rf"\g<1>{MASK}"),
    (re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"), rf"\g<1>{MASK}"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), MASK),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"), MASK),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"), MASK),
)
"""Secret shapes, masked whether or not the run knows the value (a server that echoes another key)."""

_secrets: set[str] = set()
_lock = threading.Lock()


def is_stand_in(value: str) -> bool:
    """A value too short, or too ordinary, to be a secret (`none`, `dummy`; `sk-local` is short)."""
    text = value.strip()
    return len(text) < MIN_SECRET_LENGTH or re.sub(r"[-_ ]", "", text).lower() in STAND_IN_WORDS


def register_secret(value: str | None) -> bool:
    """Remember a secret so that `redact` removes it from every text from now on. Returns False when the value
    looks like a stand-in (no real key) and is therefore not masked (the caller says so in the report)."""
    if not value or not value.strip():
        return True
    if is_stand_in(value):
        return False
    with _lock:
        _secrets.add(value.strip())
    return True


def register_secrets(values: Iterable[str | None]) -> None:
    for value in values:
        register_secret(value)


def register_environment(environ: Mapping[str, str]) -> None:
    """Every environment variable whose name says it holds a secret (KEY, TOKEN, SECRET, PASSWORD)."""
    register_secrets(value for name, value in environ.items() if SECRET_NAME.search(name))


def stand_in_notes(keys: Mapping[str, str | None]) -> list[str]:
    """Register the keys a run uses (label → value); a note for each that looks like a stand-in, not a key."""
    return [f"{label} looks like a stand-in, not a real key ({len(value.strip())} characters, or a plain word), so "
            "it is not masked in reports; a real key is"
            for label, value in keys.items() if value and not register_secret(value)]


def _mask_fragments(text: str, secret: str) -> str:
    """Mask the whole secret, and any run of at least MIN_FRAGMENT characters of its start or its end (a secret
    cut by a length limit, from either side)."""
    text = text.replace(secret, MASK)
    if len(secret) < MIN_FRAGMENT * 2:
        return text
    head, tail = secret[:MIN_FRAGMENT], secret[-MIN_FRAGMENT:]
    start = text.find(head)
    while start >= 0:
        end = start
        while end < len(text) and end - start < len(secret) and text[end] == secret[end - start]:
            end += 1
        text = text[:start] + MASK + text[end:]
        start = text.find(head, start + len(MASK))
    end = text.find(tail)
    while end >= 0:
        stop = end + MIN_FRAGMENT
        begin = end
        offset = len(secret) - MIN_FRAGMENT
        while begin > 0 and offset > 0 and text[begin - 1] == secret[offset - 1]:
            begin, offset = begin - 1, offset - 1
        text = text[:begin] + MASK + text[stop:]
        end = text.find(tail, begin + len(MASK))
    return text


def redact(text: str) -> str:
    """The text with every known secret (whole or cut) and every secret shape replaced by `***`. Apply it to raw
    text, before truncating or escaping it: an escaped key (`sk\\-live\\-…`) no longer matches."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret[:MIN_FRAGMENT] in text or secret[-MIN_FRAGMENT:] in text or secret in text:
            text = _mask_fragments(text, secret)
    for pattern, replacement in SHAPES:
        text = pattern.sub(replacement, text)
    return text


def forget_secrets() -> None:
    """For tests: start from no registered secrets."""
    with _lock:
        _secrets.clear()
