"""The registries where users extend taskeval with a generation backend or a judge provider: each is the only list
of its names (config parsing and the JSON Schema read them), and each entry is imported only when a run uses it.

To add one: write the class (a backend: evaluator/core/records.py's `Backend` protocol, constructed as
`(model, GenerationSettings, device)`; a judge provider: `(JudgeConfig, api_key)` with `messages` and `judge`
like evaluator/stages/judge_client.py's `OpenAIJudge`), then add one line below.
"""

from __future__ import annotations

from typing import Any

from evaluator.core.registry import Registry

BACKENDS: Registry[Any] = Registry("generation backend")
BACKENDS.add_lazy("huggingface", "evaluator.generation.huggingface:HuggingFaceBackend")
BACKENDS.add_lazy("openai", "evaluator.generation.served:ServedModelBackend")

JUDGE_PROVIDERS: Registry[Any] = Registry("judge provider")
JUDGE_PROVIDERS.add_lazy("openai", "evaluator.stages.judge_client:OpenAIJudge")
JUDGE_PROVIDERS.add_lazy("huggingface", "evaluator.stages.local_judge:HuggingFaceJudge")
LOCAL_JUDGES = ("huggingface",)
"""Providers that run in-process: no API key, no price (they cost nothing but the runner's time)."""
