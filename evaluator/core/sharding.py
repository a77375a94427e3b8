"""Shards of a benchmark (docs/scaling.md): case K of N by a stable hash of the case's id.

The hash depends on the id alone, so a case and its production twin (the baseline's case of the same id) land in the
same shard, and adding cases elsewhere in the benchmark moves no case from one shard to another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evaluator.core.errors import TaskevalError
from evaluator.core.hashing import sha256_hex

SHARD_TEXT = re.compile(r"\s*([0-9]{1,6})\s*/\s*([0-9]{1,6})\s*")


def shard_of(case_id: str, count: int) -> int:
    """The shard (1 … count) that holds the case with this id."""
    return int(sha256_hex(f"taskeval-shard:{case_id}")[:16], 16) % count + 1


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (both from 1)."""

    index: int
    count: int

    def holds(self, case_id: str) -> bool:
        return shard_of(case_id, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def file_name(self) -> str:
        """Where `taskeval run --shard` writes its record in the output folder."""
        return f"shard-{self.index}-of-{self.count}.json"


def parse_shard(text: str, where: str = "--shard") -> Shard:
    """`K/N` with 1 ≤ K ≤ N, as the Actions matrix gives it (`${{ matrix.shard }}/4`)."""
    found = SHARD_TEXT.fullmatch(text or "")
    index, count = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
    if not found or not 1 <= index <= count:
        raise TaskevalError(f"{where} is '{text}'; it must be K/N with 1 ≤ K ≤ N (shard K of N)",
                            "for example --shard 2/4 (in a matrix: shard: ${{ matrix.shard }}/4)")
    return Shard(index, count)
