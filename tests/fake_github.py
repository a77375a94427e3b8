"""A stand-in for the GitHub REST API on loopback, with state in memory (releases, assets, comments, check runs),
for the real PyGithub. Only the endpoints taskeval uses are served."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

REPO = "acme/models"


@dataclass
class GitHubState:
    """Everything the stand-in knows; tests read and seed it."""

    base: str = ""
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    check_runs: list[dict[str, Any]] = field(default_factory=list)
    releases: dict[str, dict[str, Any]] = field(default_factory=dict)
    assets: dict[int, dict[str, Any]] = field(default_factory=dict)
    asset_data: dict[int, bytes] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)
    head_sha: str = "feedface" * 5
    """The head commit of every pull request."""
    open_pulls: list[int] = field(default_factory=lambda: [7])
    fail_status: int | None = None
    """Every request answers this status (an outage: 500)."""
    read_only: bool = False
    """Writes answer 403, as for a fork's token."""
    fail_uploads: bool = False
    faults: dict[str, list[int]] = field(default_factory=dict)
    """Endpoint (its handler's name, e.g. `get_asset`) → the statuses its next calls answer, in order (the last one
    repeats); 200 answers normally, 0 closes the connection without an answer (a time-out or a reset)."""
    next_id: int = 100
    artifacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Workflow-run artifacts (what actions/upload-artifact stores), by id; their zips in `artifact_data`."""
    artifact_data: dict[int, bytes] = field(default_factory=dict)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def add_release(self, tag: str, assets: dict[str, bytes] | None = None) -> dict[str, Any]:
        release_id = self.new_id()
        release = {"id": release_id, "tag_name": tag, "name": tag,
                   "url": f"{self.base}/repos/{REPO}/releases/{release_id}",
                   "upload_url": f"{self.base}/uploads/repos/{REPO}/releases/{release_id}/assets{{?name,label}}",
                   "html_url": f"https://github.example/{REPO}/releases/{tag}", "assets": []}
        self.releases[tag] = release
        for name, data in (assets or {}).items():
            self.add_asset(release_id, name, data)
        return release

    def add_asset(self, release_id: int, name: str, data: bytes) -> dict[str, Any]:
        asset_id = self.new_id()
        asset = {"id": asset_id, "name": name, "label": "", "size": len(data), "release_id": release_id,
                 "url": f"{self.base}/repos/{REPO}/releases/assets/{asset_id}", "content_type": "application/json",
                 "browser_download_url": f"https://github.example/download/{asset_id}", "state": "uploaded"}
        self.assets[asset_id] = asset
        self.asset_data[asset_id] = data
        return asset

    def add_artifact(self, run_id: int, name: str, files: dict[str, bytes], expired: bool = False) -> None:
        """An artifact of a workflow run, as actions/upload-artifact leaves it: a zip of `files`."""
        import io
        import zipfile

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as bundle:
            for file_name, data in files.items():
                bundle.writestr(file_name, data)
        artifact_id = self.new_id()
        self.artifacts[artifact_id] = {
            "id": artifact_id, "node_id": f"A_{artifact_id}", "name": name, "size_in_bytes": len(buffer.getvalue()),
            "url": f"{self.base}/repos/{REPO}/actions/artifacts/{artifact_id}",
            "archive_download_url": f"{self.base}/repos/{REPO}/actions/artifacts/{artifact_id}/zip",
            "expired": expired, "workflow_run": {"id": run_id}}
        self.artifact_data[artifact_id] = buffer.getvalue()

    def release_assets(self, tag: str) -> dict[str, bytes]:
        release_id = self.releases[tag]["id"]
        return {a["name"]: self.asset_data[i] for i, a in self.assets.items() if a["release_id"] == release_id}


def _comment(state: GitHubState, number: int, comment_id: int, body: str) -> dict[str, Any]:
    return {"id": comment_id, "body": body, "issue_number": number,
            "url": f"{state.base}/repos/{REPO}/issues/comments/{comment_id}",
            "html_url": f"https://github.example/{REPO}/pull/{number}#issuecomment-{comment_id}",
            "user": {"login": "github-actions[bot]"}}


class _Routes:
    """The endpoints, each a method returning (status, JSON or bytes)."""

    def __init__(self, state: GitHubState) -> None:
        self.state = state

    def dispatch(self, method: str, path: str, query: dict[str, list[str]], body: bytes,
                 accept: str, authorization: str = "") -> tuple[int, Any]:
        state = self.state
        if state.fail_status:
            return state.fail_status, {"message": "Server Error"}
        if state.read_only and method != "GET":
            return 403, {"message": "Resource not accessible by integration"}
        prefix = f"/repos/{REPO}"
        routes = [
            ("GET", prefix, self.get_repo),
            ("GET", rf"{prefix}/issues/(\d+)", self.get_issue),
            ("GET", rf"{prefix}/issues/(\d+)/comments", self.list_comments),
            ("POST", rf"{prefix}/issues/(\d+)/comments", self.create_comment),
            ("PATCH", rf"{prefix}/issues/comments/(\d+)", self.edit_comment),
            ("GET", rf"{prefix}/pulls/(\d+)", self.get_pull),
            ("GET", rf"{prefix}/pulls", self.list_pulls),
            ("POST", rf"{prefix}/check-runs", self.create_check_run),
            ("GET", rf"{prefix}/releases/tags/([^/]+)", self.get_release),
            ("POST", rf"{prefix}/releases", self.create_release),
            ("GET", rf"{prefix}/releases/(\d+)/assets", self.list_assets),
            ("POST", rf"/uploads{prefix}/releases/(\d+)/assets", self.upload_asset),
            ("GET", rf"{prefix}/releases/assets/(\d+)", self.get_asset),
            ("PATCH", rf"{prefix}/releases/assets/(\d+)", self.rename_asset),
            ("DELETE", rf"{prefix}/releases/assets/(\d+)", self.delete_asset),
            ("GET", rf"{prefix}/actions/runs/(\d+)", self.get_run),
            ("GET", rf"{prefix}/actions/runs/(\d+)/artifacts", self.list_artifacts),
            ("GET", rf"{prefix}/actions/artifacts/(\d+)/zip", self.download_artifact),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match and state.faults.get(handler.__name__):
                statuses = state.faults[handler.__name__]
                status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
                if status != 200:  # 200: this call is answered normally; the message echoes the credential, as
                    # a careless proxy would
                    return status, {"message": f"fault {status} for credential {authorization.split(' ')[-1]}"}
            if verb == method and match:
                data = json.loads(body) if body and method in ("POST", "PATCH") and not path.startswith("/uploads") \
                    else body
                return handler(match.group(1) if match.groups() else None, data, query, accept)
        return 404, {"message": "Not Found"}

    def get_repo(self, *_: Any) -> tuple[int, Any]:
        return 200, {"id": 1, "name": REPO.split("/")[1], "full_name": REPO, "url": f"{self.state.base}/repos/{REPO}",
                     "default_branch": "main"}

    def get_issue(self, number: str, *_: Any) -> tuple[int, Any]:
        n = int(number)
        return 200, {"number": n, "url": f"{self.state.base}/repos/{REPO}/issues/{n}", "title": "PR",
                     "comments_url": f"{self.state.base}/repos/{REPO}/issues/{n}/comments", "state": "open",
                     "pull_request": {"url": f"{self.state.base}/repos/{REPO}/pulls/{n}"}}

    def list_comments(self, number: str, *_: Any) -> tuple[int, Any]:
        return 200, [c for c in self.state.comments.values() if c["issue_number"] == int(number)]

    def create_comment(self, number: str, data: Any, *_: Any) -> tuple[int, Any]:
        comment_id = self.state.new_id()
        self.state.comments[comment_id] = _comment(self.state, int(number), comment_id, data["body"])
        return 201, self.state.comments[comment_id]

    def edit_comment(self, comment_id: str, data: Any, *_: Any) -> tuple[int, Any]:
        comment = self.state.comments.get(int(comment_id))
        if comment is None:
            return 404, {"message": "Not Found"}
        comment["body"] = data["body"]
        return 200, comment

    def get_pull(self, number: str, *_: Any) -> tuple[int, Any]:
        return 200, {"number": int(number), "url": f"{self.state.base}/repos/{REPO}/pulls/{number}",
                     "head": {"sha": self.state.head_sha, "ref": "feature"}, "base": {"ref": "main"}}

    def list_pulls(self, *_: Any) -> tuple[int, Any]:
        return 200, [self.get_pull(str(number))[1] for number in self.state.open_pulls]

    def create_check_run(self, _: Any, data: Any, *__: Any) -> tuple[int, Any]:
        run = {**data, "id": self.state.new_id(), "html_url": f"https://github.example/{REPO}/runs/1"}
        self.state.check_runs.append(run)
        return 201, run

    def get_release(self, tag: str, *_: Any) -> tuple[int, Any]:
        release = self.state.releases.get(tag)
        return (200, release) if release else (404, {"message": "Not Found"})

    def create_release(self, _: Any, data: Any, *__: Any) -> tuple[int, Any]:
        return 201, self.state.add_release(data["tag_name"])

    def list_assets(self, release_id: str, *_: Any) -> tuple[int, Any]:
        return 200, [a for a in self.state.assets.values() if a["release_id"] == int(release_id)]

    def upload_asset(self, release_id: str, data: Any, query: dict[str, list[str]], _: str) -> tuple[int, Any]:
        if self.state.fail_uploads:
            return 502, {"message": "Bad Gateway"}
        name = query["name"][0]
        if any(a["name"] == name and a["release_id"] == int(release_id) for a in self.state.assets.values()):
            return 422, {"message": "already_exists"}
        return 201, self.state.add_asset(int(release_id), name, data)

    def get_asset(self, asset_id: str, _: Any, __: Any, accept: str) -> tuple[int, Any]:
        asset = self.state.assets.get(int(asset_id))
        if asset is None:
            return 404, {"message": "Not Found"}
        return (200, self.state.asset_data[int(asset_id)]) if accept == "application/octet-stream" else (200, asset)

    def get_run(self, run_id: str, *_: Any) -> tuple[int, Any]:
        url = f"{self.state.base}/repos/{REPO}/actions/runs/{run_id}"
        return 200, {"id": int(run_id), "url": url, "artifacts_url": f"{url}/artifacts",
                     "head_sha": self.state.head_sha}

    def list_artifacts(self, run_id: str, *_: Any) -> tuple[int, Any]:
        found = [a for a in self.state.artifacts.values() if a["workflow_run"]["id"] == int(run_id)]
        return 200, {"total_count": len(found), "artifacts": found}

    def download_artifact(self, artifact_id: str, *_: Any) -> tuple[int, Any]:
        data = self.state.artifact_data.get(int(artifact_id))
        return (200, data) if data is not None else (404, {"message": "Not Found"})

    def rename_asset(self, asset_id: str, data: Any, *_: Any) -> tuple[int, Any]:
        asset = self.state.assets[int(asset_id)]
        asset["name"] = data["name"]
        return 200, asset

    def delete_asset(self, asset_id: str, *_: Any) -> tuple[int, Any]:
        self.state.assets.pop(int(asset_id), None)
        self.state.asset_data.pop(int(asset_id), None)
        return 204, b""


@contextmanager
def fake_github(state: GitHubState | None = None) -> Iterator[GitHubState]:
    """Serve the stand-in on 127.0.0.1 for the duration of the block; `state.base` is its API URL."""
    state = state or GitHubState()
    routes = _Routes(state)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the access log
            return

        def _handle(self) -> None:
            url = urlparse(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
            with lock:
                state.log.append((self.command, url.path))
                status, payload = routes.dispatch(self.command, url.path, parse_qs(url.query), body,
                                                  self.headers.get("Accept", ""),
                                                  self.headers.get("Authorization", ""))
            if status == 0:  # no answer at all
                self.close_connection = True
                self.connection.shutdown(2)
                return
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            content_type = "application/octet-stream" if isinstance(payload, bytes) else "application/json"
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = _handle  # noqa: N815 - http.server's naming

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
