"""`judge.provider: huggingface`: a judge that runs in-process on the runner's own GPU or CPU — a model folder or a
`.gguf` file in `judge.model` — batched, at no API cost, and no data leaves the runner. It asks with the same
versioned prompt as the API judge, but does not let the model write its verdict: for each criterion it puts the
verdict's own opening after the prompt (`{"scores": {"accuracy": `) and reads the score as the most likely of the
next tokens 1–5. A small model that would answer in prose still gives a score on the judge's scale (docs/judge.md,
"A local judge")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evaluator.inputs.config import GenerationSettings, JudgeConfig
from evaluator.stages.judge_client import SYSTEM_PROMPT, Verdict, build_messages

SCORE_OPENING = '{{"scores": {{"{criterion}": '
"""What the verdict's JSON says before a criterion's score: the model's next token after it is the score."""
SCORED_BY = "scored from the model's most likely next token among 1-5 for each criterion (no text generated)"
SCORING_BATCH = 16


@dataclass(frozen=True)
class _Prompt:
    """A judge request in the shape a generation backend takes (an id and the user message)."""

    id: str
    input: str


class HuggingFaceJudge:
    """A local model as the judge, loaded by the Hugging Face generation backend (its chat template, device and
    dtype); each criterion is one forward pass, batched."""

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
        """Verdicts for many requests: every (request, criterion) is one prompt ending in the score's opening,
        scored in batches; the system prompt comes from the settings."""
        import torch

        tokenizer, model = self.backend.tokenizer, self.backend.model
        digits = [tokenizer.encode(str(score), add_special_tokens=False)[-1] for score in range(1, 6)]
        prompts = [self.backend.prompt(_Prompt(str(index), messages[-1]["content"]))
                   for index, messages in enumerate(batch)]
        texts = [prompt + SCORE_OPENING.format(criterion=name) for prompt in prompts for name in self.criteria]
        scores: list[int] = []
        for start in range(0, len(texts), SCORING_BATCH):
            encoded = tokenizer(texts[start:start + SCORING_BATCH], return_tensors="pt", padding=True,
                                add_special_tokens=False)
            with torch.inference_mode():  # left padding: the last position is every prompt's own last token
                logits = model(**{k: v.to(model.device) for k, v in encoded.items()}).logits[:, -1, :]
            scores += [int(i) + 1 for i in logits[:, digits].argmax(dim=-1).tolist()]
        per_request = len(self.criteria)
        return [Verdict(dict(zip(self.criteria, scores[i * per_request:(i + 1) * per_request])), SCORED_BY, None,
                        len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) * per_request, 0)
                for i, prompt in enumerate(prompts)]
