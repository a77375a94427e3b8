"""The records every layer shares: a benchmark case, what a backend needs of a case, what it returns, and the
Backend protocol every generation backend follows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from evaluator.core.hashing import sha256_hex


@dataclass(frozen=True)
class Case:
    """One benchmark case."""

    id: str
    """Unique id (given, or the first 16 hex digits of the SHA-256 of the input)."""
    input: str
    """The natural-language request."""
    expected_output: str
    """The expected output as a string (an object is stored as its compact JSON)."""
    expected: Any
    """The expected output parsed as JSON."""
    expected_action: str
    """The expected `action` (given, or taken from the expected output)."""
    tags: tuple[str, ...] = ()
    """Free-form tags for the per-tag breakdown."""
    category: str | None = None
    """An optional category."""


class Request(Protocol):
    """What a backend needs of a case: its id and its input (benchmark and red-team cases both are)."""

    @property
    def id(self) -> str: ...

    @property
    def input(self) -> str: ...


@dataclass(frozen=True)
class SampleRequest:
    """One of a case's repeated samples (generation.samples): the case's id and input, and which sample it is."""

    id: str
    input: str
    sample: int
    """0 for the first sample (the one a single-sample run generates), then 1, 2, …"""


def sample_index(request: Request) -> int:
    """Which sample of its case a request asks for: a SampleRequest's index, 0 for a case itself."""
    return request.sample if isinstance(request, SampleRequest) else 0


def sample_seed(request: Request) -> int:
    """The seed of one sample's random draws: from the case's input and the sample's index alone, so a re-run, a
    shard or a batch of other cases draws the very same output (a 31-bit integer, which every server's `seed`
    takes)."""
    digest = sha256_hex(f"{sample_index(request)}\n{request.input}")
    return int(digest[:8], 16) >> 1


@dataclass(frozen=True)
class Generation:
    """One case's output and what it cost."""

    output: str
    """The model's text."""
    truncated: bool
    """Cut off by max_new_tokens before the output was complete."""
    prompt_tokens: int | None = None
    """Tokens in the prompt, when known."""
    completion_tokens: int | None = None
    """Tokens generated, when known."""
    latency_ms: float | None = None
    """Time to produce it (in a batch: the batch's time shared by its cases)."""
    cached: bool = False
    """Read from the output cache rather than generated."""


BatchCallback = Callable[[list[tuple[Request, Generation]]], None]


class Backend(Protocol):
    """Produces one Generation per case, in the cases' order."""

    description: str
    runs_model: bool
    """Whether it generates (so latency can be measured); False for outputs read from a file."""

    def fingerprint(self) -> dict[str, object]:
        """What identifies the model and its settings (for the report and the cache)."""

    def covers(self, requests: Sequence[Request]) -> bool:
        """Whether it can answer these requests (a predictions file may lack the red-team suite)."""

    def cache_key(self) -> dict[str, object] | None:
        """What the outputs depend on (model, prompt, decoding settings), or None for outputs not worth caching."""

    def generate(self, cases: Sequence[Request], on_batch: BatchCallback | None = None) -> list[Generation]:
        """Outputs for the cases, in order; `on_batch` hears of each finished batch (for the cache and progress)."""



@dataclass(frozen=True)
class LatencySample:
    """One timed single request of the latency stage."""

    id: str
    """The case timed."""
    latency_ms: float
    completion_tokens: int
    """Tokens it generated (0 when the backend does not count them)."""
