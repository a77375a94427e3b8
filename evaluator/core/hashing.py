"""Canonical JSON and digests: how outputs are compared and how cases, prompts and configurations are
fingerprinted."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def compact_json(value: Any) -> str:
    """The compact JSON string an object is compared as (README, "The benchmark")."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
