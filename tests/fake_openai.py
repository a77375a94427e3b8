"""An OpenAI-compatible chat-completions server on loopback, scripted by the test, for the real `openai` client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """What the server answers to one request."""

    status: int = 200
    content: str | None = None
    """The assistant message (status 200)."""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    prompt_tokens: int = 100
    completion_tokens: int = 50
    finish_reason: str = "stop"
    raw: dict[str, Any] | None = None
    """Sent as the whole body instead of a completion (a server that answers in another shape)."""
    error_message: str | None = None
    """The error's message (status other than 200); `{authorization}` is replaced by the request's header, as a
    careless server that echoes credentials would."""


Script = Callable[[dict[str, Any], int], Reply]


@dataclass
class FakeOpenAI:
    """The running server: its base URL and every request body it received."""

    base_url: str
    requests: list[dict[str, Any]]


def _completion(reply: Reply, model: str, chat: bool) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "finish_reason": reply.finish_reason}
    if chat:
        choice["message"] = {"role": "assistant", "content": reply.content}
    else:
        choice["text"], choice["logprobs"] = reply.content, None
    return {
        "id": "cmpl-test", "object": "chat.completion" if chat else "text_completion", "created": int(time.time()),
        "model": model, "choices": [choice],
        "usage": {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                  "total_tokens": reply.prompt_tokens + reply.completion_tokens},
    }


@contextmanager
def fake_openai(script: Script, slots: int | None = None) -> Iterator[FakeOpenAI]:
    """Serve `script` on 127.0.0.1 (a free port) for the duration of the block. `slots`: how many requests it works
    on at once (an inference server's parallel slots; the others wait their turn); None: no limit."""
    requests: list[dict[str, Any]] = []
    lock = threading.Lock()
    working = threading.BoundedSemaphore(slots) if slots else None

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the access log
            return

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            with lock:
                index = len(requests)
                requests.append(body)
            reply = script(body, index)
            if working is not None:
                working.acquire()
            try:
                if reply.delay_s:
                    time.sleep(reply.delay_s)
            finally:
                if working is not None:
                    working.release()
            chat = self.path.endswith("/chat/completions")
            message = (reply.error_message or f"scripted {reply.status}").replace(
                "{authorization}", self.headers.get("Authorization", ""))
            payload = (reply.raw if reply.raw is not None else _completion(reply, body.get("model", ""), chat)
                       if reply.status == 200 else {"error": {"message": message, "type": "test", "code": None}})
            data = json.dumps(payload).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeOpenAI(f"http://127.0.0.1:{server.server_address[1]}/v1", requests)
    finally:
        server.shutdown()
        server.server_close()
