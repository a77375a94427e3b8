"""The `openai` backend: a model served behind an OpenAI-compatible endpoint (vLLM, TGI, Ollama, a hosted
fine-tune), with concurrent requests, retries and the same output cache as the local backend.

One request per case (per sample, with generation.samples), at generation.temperature (0 by default) and top_p, with
a `seed` from the case's input and sample index when it samples; `max_tokens` = generation.max_new_tokens. The output
is cut where its JSON object closes, as locally. `--model` names the served model.

`generation.base_url` may list several replicas of the same model (docs/scaling.md): each request goes to the live
replica with the least outstanding work, `generation.concurrency` requests in flight per replica; a failed request
is retried at once on another replica, and a replica that fails MARK_DOWN_AFTER requests in a row is marked down
for the rest of the run (the report says so). The last live replica is never marked down: its failures are retried
with backoff, as with one server.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from evaluator.core.errors import TaskevalError
from evaluator.core.openai_calls import backoff_s, describe, is_retryable, make_client
from evaluator.core.records import BatchCallback, Generation, Request, sample_seed
from evaluator.generation.sampling import sampling_settings
from evaluator.generation.stopping import cut_at_stop
from evaluator.inputs.config import GenerationSettings


def _count(value: object) -> int | None:
    """A token count the server reported, or None when it reported none that is a count."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


MARK_DOWN_AFTER = 3
"""Failed requests in a row after which a replica is marked down (while another is live)."""


def base_urls(settings: GenerationSettings) -> list[str]:
    """generation.base_url as a list of replicas."""
    given = settings.base_url
    return [given] if isinstance(given, str) else list(given or [])


class Replicas:
    """The replicas of one served model: which is live, and how much work each has outstanding."""

    def __init__(self, urls: Sequence[str], clients: Sequence[Any]) -> None:
        self.urls = list(urls)
        self.clients = list(clients)
        self.outstanding = [0] * len(urls)
        self.sent = [0] * len(urls)
        self.failures_in_a_row = [0] * len(urls)
        self.down: dict[int, str] = {}
        """Replica → why it was marked down."""
        self._lock = threading.Lock()

    def live(self) -> list[int]:
        return [i for i in range(len(self.urls)) if i not in self.down]

    def acquire(self, avoid: set[int]) -> int:
        """The live replica with the least outstanding work (then the fewest sent), preferring one not in `avoid`."""
        with self._lock:
            live = self.live()
            chosen = min([i for i in live if i not in avoid] or live,
                         key=lambda i: (self.outstanding[i], self.sent[i], i))
            self.outstanding[chosen] += 1
            self.sent[chosen] += 1
            return chosen

    def release(self, replica: int, error: Exception | None) -> None:
        """A request finished; a replica that failed MARK_DOWN_AFTER in a row is marked down, unless it is the
        last one live."""
        with self._lock:
            self.outstanding[replica] -= 1
            if error is None:
                self.failures_in_a_row[replica] = 0
                return
            self.failures_in_a_row[replica] += 1
            if self.failures_in_a_row[replica] >= MARK_DOWN_AFTER and len(self.live()) > 1 and \
                    replica not in self.down:
                self.down[replica] = describe(error)

    def notes(self) -> tuple[str, ...]:
        live = len(self.live())
        return tuple(f"replica {self.urls[i]} was marked down after {MARK_DOWN_AFTER} failed requests in a row "
                     f"(last: {why}); the run went on with the other {live} of {len(self.urls)}"
                     for i, why in sorted(self.down.items()))


class ServedModelBackend:
    """Outputs from a served model (one server, or several replicas of it)."""

    runs_model = True

    def __init__(self, model: str, settings: GenerationSettings, device: str = "auto") -> None:
        self.model = str(model)
        self.settings = settings
        urls = base_urls(settings)
        self.base_url: str | list[str] = urls[0] if len(urls) == 1 else urls
        where = urls[0] if len(urls) == 1 else f"{len(urls)} replicas ({', '.join(urls)})"
        self.description = f"{self.model} served at {where}"
        key = os.environ.get(settings.api_key_env)
        self.replicas = Replicas(urls, [make_client(url, key, settings.timeout_s) for url in urls])
        self._rng = random.Random()

    @property
    def notes(self) -> tuple[str, ...]:
        """What the report should say: replicas marked down."""
        return self.replicas.notes()

    def fingerprint(self) -> dict[str, object]:
        return {"backend": "openai", "path": self.model, "base_url": self.base_url, "api": self.settings.api,
                "device": "served", "dtype": "served", "quantization": "served", **sampling_settings(self.settings)}

    def covers(self, requests: Sequence[Request]) -> bool:
        return True

    def cache_key(self) -> dict[str, object]:
        """The served model's name, where it is served and the decoding settings (the weights behind a name are
        not visible from here: use --no-cache after redeploying under the same name)."""
        s = self.settings
        return {"served_model": self.model, "base_url": self.base_url, "api": s.api,
                "max_new_tokens": s.max_new_tokens, "prompt_template": s.prompt_template,
                "system_prompt": s.system_prompt, "version": 1, **sampling_settings(s)}

    def _request(self, client: Any, case: Request) -> Any:
        s = self.settings
        decoding: dict[str, Any] = {"temperature": s.temperature, "max_tokens": s.max_new_tokens}
        if s.temperature > 0:
            decoding |= {"top_p": s.top_p, "seed": sample_seed(case)}
        if s.api == "completions":
            prompt = s.prompt_template.replace("{input}", case.input)
            if s.system_prompt:
                prompt = prompt.replace("{system}", s.system_prompt) if "{system}" in prompt else (
                    f"{s.system_prompt}\n{prompt}")
            return client.completions.create(model=self.model, prompt=prompt, **decoding)
        messages = ([{"role": "system", "content": s.system_prompt}] if s.system_prompt else []) + [
            {"role": "user", "content": case.input}]
        return client.chat.completions.create(model=self.model, messages=messages, **decoding)

    def _call(self, case: Request) -> tuple[Any, str]:
        """The response to one case and the replica that gave it: a failure is retried at once on another live
        replica, or with backoff when none is left; generation.max_attempts in all."""
        tried: set[int] = set()
        for attempt in range(1, self.settings.max_attempts + 1):
            replica = self.replicas.acquire(tried)
            try:
                response = self._request(self.replicas.clients[replica], case)
            except Exception as error:  # re-raised below unless retryable
                self.replicas.release(replica, error)
                tried.add(replica)
                if attempt == self.settings.max_attempts or not is_retryable(error):
                    raise TaskevalError(f"the served model at {self.replicas.urls[replica]} failed on case "
                                        f"'{case.id}': {describe(error)}", "check that the server is up and serves "
                                        f"'{self.model}'; outputs generated so far are cached") from None
                if not [i for i in self.replicas.live() if i not in tried]:
                    time.sleep(backoff_s(error, attempt, self._rng))
                    tried.clear()
                continue
            self.replicas.release(replica, None)
            return response, self.replicas.urls[replica]
        raise AssertionError("unreachable")

    def _generate_one(self, case: Request) -> Generation:
        started = time.perf_counter()
        response, url = self._call(case)
        choices = getattr(response, "choices", None)
        choice = choices[0] if isinstance(choices, list) and choices else None
        if self.settings.api == "completions":
            raw = getattr(choice, "text", None)
        else:  # a chat message without content (a tool call, say) is an empty output
            message = getattr(choice, "message", None)
            raw = (getattr(message, "content", None) or "") if message is not None else None
        if not isinstance(raw, str):
            raise TaskevalError(f"the served model at {url} answered case '{case.id}' without a choice "
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
        workers = self.settings.concurrency * len(self.replicas.urls)
        chunk = workers * 4
        outputs: list[Generation] = []
        pool = ThreadPoolExecutor(max_workers=workers)
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

