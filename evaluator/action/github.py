"""The only module that talks to GitHub (PyGithub): baseline release asset, sticky comment, check run, and the shard
records a sharded run's jobs uploaded as artifacts.

Every call may fail for reasons that must never change the decision (a fork's read-only token, a missing
permission, a missing release, an outage): the entrypoint catches every failure of a call and turns it into a
warning with `explain`. Registered secrets are redacted from everything posted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluator.core.errors import TaskevalError
from evaluator.core.files import read_text, strict_json
from evaluator.core.redaction import redact

COMMENT_LIMIT = 65_536
SUMMARY_LIMIT = 65_535
MAX_ANNOTATIONS = 50
TRIM_NOTE = "\n\n*(trimmed to fit GitHub's limit; the full report is in the job's artifact or step summary)*\n"
DEFAULT_API_URL = "https://api.github.com"


def trim(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(TRIM_NOTE)] + TRIM_NOTE


def marker(check_name: str) -> str:
    """The hidden marker that finds this check's sticky comment again."""
    return f"<!-- taskeval-sticky-comment: {check_name} -->"


@dataclass(frozen=True)
class GitHubContext:
    """What the workflow run says about itself (environment and event payload)."""

    api_url: str
    repository: str
    token: str
    event_name: str
    event: dict[str, Any]
    ref: str
    sha: str

    @classmethod
    def from_env(cls, env: Mapping[str, str], token: str) -> GitHubContext:
        event: Any = {}
        path = env.get("GITHUB_EVENT_PATH")
        if path and Path(path).exists():
            try:
                event = strict_json(read_text(Path(path), "event file", "GITHUB_EVENT_PATH"))
            except ValueError:
                event = None
            if not isinstance(event, dict):
                raise TaskevalError(f"{path}: the workflow's event file is not a JSON object",
                                    "run the Action from a GitHub workflow, or give GITHUB_EVENT_PATH an event "
                                    "payload")
            check_event(event, path)
        return cls(env.get("GITHUB_API_URL", DEFAULT_API_URL), env.get("GITHUB_REPOSITORY", ""), token,
                   env.get("GITHUB_EVENT_NAME", ""), event, env.get("GITHUB_REF", ""), env.get("GITHUB_SHA", ""))

    @property
    def pr_number(self) -> int | None:
        """The pull request of a pull_request(_target) event, or of an issue comment on a PR."""
        pull = self.event.get("pull_request") or {}
        if isinstance(pull.get("number"), int):
            return int(pull["number"])
        issue = self.event.get("issue") or {}
        return int(issue["number"]) if issue.get("pull_request") and isinstance(issue.get("number"), int) else None

    @property
    def head_sha(self) -> str:
        """The commit a check run belongs on: the PR's head, else the workflow run's head, else GITHUB_SHA."""
        pull = self.event.get("pull_request") or {}
        run = self.event.get("workflow_run") or {}
        return str((pull.get("head") or {}).get("sha") or run.get("head_sha") or self.sha)

    @property
    def default_branch(self) -> str:
        return str((self.event.get("repository") or {}).get("default_branch") or "main")

    @property
    def on_default_branch(self) -> bool:
        return self.ref == f"refs/heads/{self.default_branch}"


EVENT_SHAPE: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("repository", dict), ("repository.default_branch", str), ("pull_request", dict), ("pull_request.number", int),
    ("pull_request.head", dict), ("pull_request.head.sha", str), ("issue", dict), ("issue.number", int),
    ("workflow_run", dict), ("workflow_run.head_sha", str), ("workflow_run.pull_requests", list),
    ("workflow_run.html_url", str),
)
"""The event keys taskeval reads and the type each must have when present."""


def check_event(event: dict[str, Any], path: str) -> None:
    """An event payload whose keys have the shapes GitHub gives them; anything else is an input error naming the
    key (`"pull_request": "7"` is not a pull request)."""
    for key, kind in EVENT_SHAPE:
        parent: Any = event
        *parents, name = key.split(".")
        for part in parents:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if not isinstance(parent, dict) or parent.get(name) is None:
            continue
        value = parent[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TaskevalError(f"{path}: the event's '{key}' is {type(value).__name__}, not a "
                                f"{getattr(kind, '__name__', 'value')} as GitHub sends it",
                                "run the Action from a GitHub workflow, or give GITHUB_EVENT_PATH a real payload")


def _unreachable(error: Exception) -> bool:
    """Retries exhausted on 5xx answers, a refused connection or a time-out."""
    import requests

    return isinstance(error, (requests.exceptions.RetryError, requests.exceptions.ConnectionError,
                              requests.exceptions.Timeout))


def _status(error: Exception) -> int | None:
    """The HTTP status of a failed call, also when the retries on 5xx answers ran out."""
    status = getattr(error, "status", None)
    if isinstance(status, int):
        return status
    found = re.search(r"too many (\d{3}) error responses", str(error))
    return int(found.group(1)) if found else None


def explain(error: Exception, action: str) -> str:
    """One line for a failed GitHub call: what failed, and what to do."""
    status = _status(error)
    if status == 403:
        fix = ("the token may not write here: a pull request from a fork gets a read-only token (use the fork-safe "
               "pattern: mode: evaluate, then mode: publish from workflow_run), or add to the workflow "
               "`permissions: {contents: write, pull-requests: write, checks: write}`")
    elif status == 404:
        fix = "not found: check the repository, the pull-request number, the release tag and the asset name"
    elif status == 401:
        fix = "the token was refused: pass `github-token: ${{ github.token }}` (the default)"
    elif (isinstance(status, int) and status >= 500) or _unreachable(error):
        fix = "the GitHub API is failing or unreachable (retried with backoff); re-run the job later"
    else:
        fix = f"{type(error).__name__}: {redact(str(error))[:200]}"
    return f"could not {action} ({f'HTTP {status}' if status else 'no answer'}): {fix}"


def unpack_records(archive: Path, destination: Path, artifact: str) -> None:
    """The shard records (`shard-K-of-N.json`) of one artifact's zip, each written flat into `destination` under its
    own name: no other file and no path inside the archive is followed, and a record that two artifacts hold is an
    error (the merge would otherwise see it once)."""
    import fnmatch
    import zipfile

    from evaluator.generation.shards import RECORD_GLOB

    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [m for m in bundle.infolist()
                       if not m.is_dir() and fnmatch.fnmatch(Path(m.filename).name, RECORD_GLOB)]
            if not members:
                raise TaskevalError(f"the artifact {artifact} holds no shard record ({RECORD_GLOB})",
                                    "upload the shard job's `shard-record` output, unrenamed")
            for member in members:
                target = destination / Path(member.filename).name
                if target.exists():
                    raise TaskevalError(f"the shard record {target.name} is in two artifacts ({artifact} and an "
                                        "earlier one)", "upload each shard's record once, under its own name")
                target.write_bytes(bundle.read(member))
    except zipfile.BadZipFile:
        raise TaskevalError(f"the artifact {artifact} is not a zip archive as GitHub serves artifacts",
                            "re-run the workflow") from None


class GitHubClient:
    """One repository, through PyGithub, with a short retry for transient errors."""

    def __init__(self, context: GitHubContext, retries: int = 3) -> None:
        from github import Auth, Github
        from github.GithubRetry import GithubRetry

        # PyGithub gives its logger a handler bound to the stderr of the moment it was imported; taskeval reports
        # GitHub's failures itself (explain), so the library's own lines go the usual way, warnings and up only
        library_log = logging.getLogger("github")
        library_log.handlers.clear()
        library_log.setLevel(logging.WARNING)
        self.context = context
        self._github = Github(auth=Auth.Token(context.token), base_url=context.api_url, timeout=30,
                              retry=GithubRetry(total=retries, backoff_factor=0.3))
        self.repo = self._github.get_repo(context.repository, lazy=True)  # lazy: no request until one is needed

    def _release(self, tag: str) -> Any | None:
        from github import UnknownObjectException

        try:
            return self.repo.get_release(tag)
        except UnknownObjectException:
            return None

    def download_baseline(self, tag: str, asset_name: str, destination: Path) -> bool:
        """The baseline asset into `destination`; False only when the release does not exist (the first run).

        Everything else fails closed: an existing release without the asset is a TaskevalError, and any other
        failure (5xx after the retries, 403, 401, a time-out, a repository the token cannot see) raises, so the
        caller reports ERROR instead of skipping the comparison."""
        release = self._release(tag)
        if release is None:
            self._github.get_repo(self.context.repository)  # the release is missing, not the repository (a wrong
            # name, or a token that cannot see it, raises here)
            return False
        asset = next((a for a in release.get_assets() if a.name == asset_name), None)
        if asset is None:
            raise TaskevalError(
                f"the baseline release '{tag}' exists but has no asset '{asset_name}'; the comparison with "
                "production cannot run",
                f"publish it again (run the workflow on the default branch with `update-baseline: true`), fix "
                f"`baseline-asset`, or delete the release '{tag}' to start over from no baseline")
        destination.parent.mkdir(parents=True, exist_ok=True)
        asset.download_asset(str(destination))  # Accept: application/octet-stream, so private repos work
        return True

    def publish_baseline(self, tag: str, asset_name: str, path: Path) -> None:
        """Replace the baseline asset without ever leaving the release without one: upload under a temporary
        name, then delete the old asset and rename the new one. A failed upload leaves the old asset untouched."""
        release = self._release(tag) or self.repo.create_git_release(
            tag, name="taskeval baseline", message="The production model's taskeval baseline (updated by CI).")
        temporary = f"{asset_name}.uploading"
        for stale in (a for a in release.get_assets() if a.name == temporary):
            stale.delete_asset()
        uploaded = release.upload_asset(str(path), name=temporary, content_type="application/json")
        for old in (a for a in release.get_assets() if a.name == asset_name):
            old.delete_asset()
        uploaded.update_asset(asset_name)

    def download_shard_records(self, run_id: int, prefix: str, destination: Path) -> list[str]:
        """The shard records this workflow run's shard jobs uploaded (artifacts named `prefix…`), unpacked into
        `destination`; returns the artifacts' names. Any failure raises (the caller reports ERROR): the merge then
        names a shard that is missing, never decides without it."""
        artifacts = [a for a in self.repo.get_workflow_run(run_id).get_artifacts() if a.name.startswith(prefix)]
        expired = [a.name for a in artifacts if a.expired]
        if expired:
            raise TaskevalError(f"the shard artifact(s) {', '.join(expired)} of run {run_id} have expired",
                                "re-run the whole workflow: the shard jobs upload their records again")
        destination.mkdir(parents=True, exist_ok=True)
        for artifact in artifacts:
            archive = destination / f"{artifact.name}.zip"
            self._github.requester.getFile(artifact.archive_download_url, str(archive), chunk_size=1 << 16)
            try:
                unpack_records(archive, destination, artifact.name)
            finally:
                archive.unlink(missing_ok=True)
        return [a.name for a in artifacts]

    def upsert_comment(self, pr_number: int, check_name: str, body: str) -> str:
        """Create or edit in place the one sticky comment of this check on the pull request; returns its URL."""
        tag = marker(check_name)
        text = trim(f"{tag}\n{redact(body)}", COMMENT_LIMIT)
        issue = self.repo.get_issue(pr_number)
        for comment in issue.get_comments():
            if tag in (comment.body or ""):
                comment.edit(text)
                return str(comment.html_url)
        return str(issue.create_comment(text).html_url)

    def pull_head_sha(self, pr_number: int) -> str:
        """The pull request's current head commit."""
        return str(self.repo.get_pull(pr_number).head.sha)

    def open_pulls_at(self, head_sha: str) -> list[int]:
        """The open pull requests whose head is this commit (a fork's `workflow_run` lists none itself)."""
        return [int(pull.number) for pull in self.repo.get_pulls(state="open") if pull.head.sha == head_sha]

    def create_check_run(self, name: str, head_sha: str, conclusion: str, title: str, summary: str,
                         annotations: list[dict[str, Any]]) -> str:
        notes = [{**a, "message": redact(str(a["message"]))} for a in annotations[:MAX_ANNOTATIONS]]
        run = self.repo.create_check_run(
            name=name, head_sha=head_sha, status="completed", conclusion=conclusion,
            output={"title": redact(title)[:255], "summary": trim(redact(summary), SUMMARY_LIMIT),
                    "annotations": notes},
        )
        return str(run.html_url)

