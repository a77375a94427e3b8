"""`judge.provider: huggingface`: a judge that runs in-process on the runner's own GPU or CPU — a model folder or a
`.gguf` file in `judge.model` — batched, at no API cost, and no data leaves the runner. It asks with the same
versioned prompt as the API judge and parses the verdict the same way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evaluator.inputs.config import GenerationSettings, JudgeConfig
from evaluator.stages.judge_client import SYSTEM_PROMPT, Verdict, build_messages, parse_verdict


@dataclass(frozen=True)
class _Prompt:
    """A judge request in the shape a generation backend takes (an id and the user message)."""

    id: str
    input: str


class HuggingFaceJudge:
    """A local model as the judge, through the Hugging Face generation backend (greedy, batched, stopped when
    the verdict's JSON object closes)."""

    in_process = True
    """Judged in one batch by run_judge, not call by call."""

    def __init__(self, settings: JudgeConfig, api_key: str | None = None) -> None:
        from evaluator.generation.huggingface import HuggingFaceBackend

        self.criteria = tuple(settings.criteria)
        generation = GenerationSettings(max_new_tokens=settings.max_output_tokens, system_prompt=SYSTEM_PROMPT)
        self.backend = HuggingFaceBackend(Path(settings.model), generation, "auto")

    def messages(self, request: str, expected: str, output: str) -> list[dict[str, str]]:
        return build_messages(request, expected, output, self.criteria)

    def judge(self, messages: list[dict[str, str]]) -> Verdict:
        return self.judge_many([messages])[0]

    def judge_many(self, batch: Sequence[list[dict[str, str]]]) -> list[Verdict]:
        """Verdicts for many requests in the backend's batches; the system prompt comes from the settings."""
        prompts = [_Prompt(str(index), messages[-1]["content"]) for index, messages in enumerate(batch)]
        verdicts = []
        for generation in self.backend.generate(prompts):
            scores, reasoning, error = parse_verdict(generation.output, self.criteria)
            verdicts.append(Verdict(scores, reasoning, error, generation.prompt_tokens or 0,
                                    generation.completion_tokens or 0))
        return verdicts
