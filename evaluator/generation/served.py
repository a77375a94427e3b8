"""The `openai` backend: a model served behind an OpenAI-compatible endpoint (vLLM, TGI, Ollama, a hosted
fine-tune), with concurrent requests, retries and the same output cache as the local backend.

One request per case, temperature 0, `max_tokens` = generation.max_new_tokens. The output is cut where its JSON
object closes, as locally. `--model` names the served model.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from evaluator.core.errors import TaskevalError
from evaluator.core.openai_calls import call_with_retries, describe, make_client
from evaluator.core.records import BatchCallback, Generation, Request
from evaluator.generation.stopping import cut_at_stop
from evaluator.inputs.config import GenerationSettings


def _count(value: object) -> int | None:
    """A token count the server reported, or None when it reported none that is a count."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class ServedModelBackend:
    """Outputs from a served model."""

    runs_model = True

    def __init__(self, model: str, settings: GenerationSettings, device: str = "auto") -> None:
        self.model = str(model)
        self.settings = settings
        self.base_url = settings.base_url
        self.description = f"{self.model} served at {self.base_url}"
        self._client = make_client(self.base_url, os.environ.get(settings.api_key_env), settings.timeout_s)

    def fingerprint(self) -> dict[str, object]:
        return {"backend": "openai", "path": self.model, "base_url": self.base_url, "api": self.settings.api,
                "device": "served", "dtype": "served", "quantization": "served"}

    def covers(self, requests: Sequence[Request]) -> bool:
        return True

    def cache_key(self) -> dict[str, object]:
        """The served model's name, where it is served and the decoding settings (the weights behind a name are
        not visible from here: use --no-cache after redeploying under the same name)."""
        s = self.settings
        return {"served_model": self.model, "base_url": self.base_url, "api": s.api,
                "max_new_tokens": s.max_new_tokens, "prompt_template": s.prompt_template,
                "system_prompt": s.system_prompt, "version": 1}

    def _request(self, case: Request) -> Any:
        s = self.settings
        if s.api == "completions":
            prompt = s.prompt_template.replace("{input}", case.input)
            if s.system_prompt:
                prompt = prompt.replace("{system}", s.system_prompt) if "{system}" in prompt else (
                    f"{s.system_prompt}\n{prompt}")
            return self._client.completions.create(model=self.model, prompt=prompt, temperature=0,
                                                   max_tokens=s.max_new_tokens)
        messages = ([{"role": "system", "content": s.system_prompt}] if s.system_prompt else []) + [
            {"role": "user", "content": case.input}]
        return self._client.chat.completions.create(model=self.model, messages=messages, temperature=0,
                                                    max_tokens=s.max_new_tokens)

    def _generate_one(self, case: Request) -> Generation:
        started = time.perf_counter()
        try:
            response = call_with_retries(lambda: self._request(case), attempts=self.settings.max_attempts)
        except Exception as error:
            raise TaskevalError(f"the served model at {self.base_url} failed on case '{case.id}': "
                                f"{describe(error)}", "check that the server is up and serves "
                                f"'{self.model}'; outputs generated so far are cached") from None
        choices = getattr(response, "choices", None)
        choice = choices[0] if isinstance(choices, list) and choices else None
        if self.settings.api == "completions":
            raw = getattr(choice, "text", None)
        else:  # a chat message without content (a tool call, say) is an empty output
            message = getattr(choice, "message", None)
            raw = (getattr(message, "content", None) or "") if message is not None else None
        if not isinstance(raw, str):
            raise TaskevalError(f"the served model at {self.base_url} answered case '{case.id}' without a choice "
                                "holding text (no 'choices', or a choice of the wrong shape)",
                                "check that base_url is an OpenAI-compatible endpoint and generation.api "
                                f"('{self.settings.api}') is the API it serves")
        text, closed = cut_at_stop(raw)
        usage = getattr(response, "usage", None)
        return Generation(
            output=text, truncated=not closed and getattr(choice, "finish_reason", None) == "length",
            prompt_tokens=_count(getattr(usage, "prompt_tokens", None)),
            completion_tokens=_count(getattr(usage, "completion_tokens", None)),
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def generate(self, cases: Sequence[Request], on_batch: BatchCallback | None = None) -> list[Generation]:
        chunk = self.settings.concurrency * 4
        outputs: list[Generation] = []
        pool = ThreadPoolExecutor(max_workers=self.settings.concurrency)
        try:
            for start in range(0, len(cases), chunk):
                part = list(cases[start:start + chunk])
                generated = list(pool.map(self._generate_one, part))
                outputs += generated
                if on_batch is not None:
                    on_batch(list(zip(part, generated)))
        finally:  # an interrupt (Ctrl-C, SIGTERM) does not wait for the requests still queued
            pool.shutdown(wait=False, cancel_futures=True)
        return outputs

