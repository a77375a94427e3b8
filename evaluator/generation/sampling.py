"""Seeded sampling for the local backend (generation.temperature above 0), as a logits processor on greedy decoding.

Each row's scores become logits / temperature (−∞ outside the top_p nucleus) plus Gumbel noise drawn from the row's
own seed and step. The token greedy decoding then takes, the argmax, is a draw from softmax(logits / temperature)
restricted to the nucleus (the Gumbel-max trick). The noise depends on the row's seed (its case's input and sample
index, evaluator/core/records.py `sample_seed`) and the step alone, so a case draws the same output whatever batch,
shard or run it is in: unlike `do_sample=True`, whose one random stream is shared by the whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evaluator.inputs.config import GenerationSettings

GOLDEN = 0x9E3779B97F4A7C15
"""Spreads the steps of one seed over the generator's seed space."""


def gumbel_noise(seed: int, step: int, size: int) -> Any:
    """Standard Gumbel noise for one row at one step: a pure function of (seed, step, size)."""
    import torch

    generator = torch.Generator().manual_seed((seed + step * GOLDEN) % (1 << 63))
    uniform = torch.rand(size, generator=generator, dtype=torch.float64).clamp_(min=1e-300)
    return -torch.log(-torch.log(uniform))


def nucleus(scaled: Any, top_p: float) -> Any:
    """The scores with every token outside each row's top_p nucleus set to −∞: the most likely tokens whose
    probabilities reach top_p (the one that crosses it included)."""
    import torch

    ordered, order = torch.sort(scaled, dim=-1, descending=True)
    probabilities = torch.softmax(ordered, dim=-1)
    before = torch.cumsum(probabilities, dim=-1) - probabilities
    drop = torch.zeros_like(scaled, dtype=torch.bool).scatter(-1, order, before >= top_p)
    return scaled.masked_fill(drop, float("-inf"))


class SeededSampler:
    """A `generate` logits processor that makes greedy decoding draw a seeded sample per row."""

    def __init__(self, seeds: Sequence[int], temperature: float, top_p: float, prompt_width: int) -> None:
        self.seeds = list(seeds)
        self.temperature = temperature
        self.top_p = top_p
        self.prompt_width = prompt_width

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        step = input_ids.shape[1] - self.prompt_width
        scaled = scores.to(torch.float64) / self.temperature
        if self.top_p < 1:
            scaled = nucleus(scaled, self.top_p)
        noise = torch.stack([gumbel_noise(seed, step, scores.shape[-1]) for seed in self.seeds])
        return scaled + noise.to(scaled.device)  # float64: no ties made by rounding to the model's dtype


def sampling_settings(settings: GenerationSettings) -> dict[str, object]:
    """generation.temperature and top_p for a fingerprint and a cache key, when the backend samples (none for greedy
    decoding, so its keys stay what they always were)."""
    return {"temperature": settings.temperature, "top_p": settings.top_p} if settings.temperature > 0 else {}
