"""A stand-in for the GitHub REST API on loopback, recording every request it serves.

Only the calls ``reconciler github`` makes: issue comments (paginated with ``Link`` headers, as
GitHub does), pull requests (who merged one only in the full record, as GitHub answers), the
pull requests of a commit (merged as it, or containing it), run artifacts and their archives
(answered with a redirect to a "blob" path that must arrive without the token). Faults are
queued per method and path pattern.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

TOKEN = "ghs_standin_token_0123456789"
REPO = "acme/specs"
BOT = "github-actions[bot]"


@dataclass
class Fault:
    method: str
    pattern: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = field(default_factory=dict)
    times: int = 1


@dataclass
class Seen:
    method: str
    path: str
    query: str
    authorization: str | None
    body: Any


class FakeGitHub:
    """The stand-in's data; tests arrange it and read ``requests`` afterwards."""

    def __init__(self) -> None:
        self.base_url = ""
        self.blob_url = ""  # "blob storage": the same server on another port, another origin
        self.reset()

    def reset(self) -> None:
        self.token = TOKEN
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.pulls: dict[int, dict[str, Any]] = {}
        self.commit_pulls: dict[str, list[int]] = {}
        self.artifacts: dict[int, list[dict[str, Any]]] = {}
        self.blobs: dict[int, bytes] = {}
        self.faults: list[Fault] = []
        self.requests: list[Seen] = []
        self._next_id = 1000

    def next_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # --- arranging ---------------------------------------------------------------------

    def add_comment(self, pr: int, body: str, author: str = "someone") -> int:
        cid = self.next_id()
        self.comments.setdefault(pr, []).append(
            {"id": cid, "body": body, "user": {"login": author, "type": "User"}}
        )
        return cid

    def add_pull(
        self,
        number: int,
        head_sha: str,
        *,
        merge_sha: str | None = None,
        merged: bool = False,
        merged_by: str = "carol",
        title: str = "",
        contains: tuple[str, ...] = (),
    ) -> None:
        """A pull request; merged as ``merge_sha``; ``contains``: further commits it brought
        (a rebase merge), whose ``commits/{sha}/pulls`` list it as well."""
        self.pulls[number] = {
            "number": number,
            "state": "closed" if merged else "open",
            "title": title or f"Change {number}",
            "html_url": f"https://github.com/{REPO}/pull/{number}",
            "head": {"sha": head_sha},
            "merge_commit_sha": merge_sha,
            "merged_at": "2026-11-28T12:00:00Z" if merged else None,
            "merged_by": {"login": merged_by, "type": "User"} if merged else None,
        }
        for sha in (merge_sha, *contains) if merge_sha else contains:
            self.commit_pulls.setdefault(sha, []).append(number)

    def add_artifact(
        self, run_id: int, name: str, files: dict[str, bytes], *, expired: bool = False
    ) -> int:
        aid = self.next_id()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for member, data in files.items():
                archive.writestr(member, data)
        self.blobs[aid] = buffer.getvalue()
        self.artifacts.setdefault(run_id, []).append(
            {
                "id": aid,
                "name": name,
                "expired": expired,
                "size_in_bytes": len(self.blobs[aid]),
                "archive_download_url": f"{self.base_url}/repos/{REPO}/actions/artifacts/{aid}/zip",
            }
        )
        return aid

    def fault(self, method: str, pattern: str, status: int, **kwargs: Any) -> None:
        self.faults.append(Fault(method, pattern, status, **kwargs))

    # --- reading -----------------------------------------------------------------------

    def comments_of(self, pr: int) -> list[dict[str, Any]]:
        return self.comments.get(pr, [])

    def calls(self, method: str, pattern: str = "") -> list[Seen]:
        return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]


def _page(request: Request, items: list[dict[str, Any]], key: str | None = None) -> Response:
    per_page = int(request.query_params.get("per_page", "30"))
    page = int(request.query_params.get("page", "1"))
    chunk = items[(page - 1) * per_page : page * per_page]
    headers = {}
    if page * per_page < len(items):
        base = str(request.url.replace(query=""))
        headers["link"] = (
            f'<{base}?per_page={per_page}&page={page + 1}>; rel="next", '
            f'<{base}?per_page={per_page}&page=1>; rel="first"'
        )
    content: Any = {"total_count": len(items), key: chunk} if key else chunk
    return JSONResponse(content, headers=headers)


def create_app(gh: FakeGitHub) -> Starlette:
    async def handle(request: Request) -> Response:
        path, method = request.url.path, request.method
        raw = await request.body()
        body: Any = json.loads(raw) if raw else {}
        auth = request.headers.get("authorization")
        gh.requests.append(Seen(method, path, request.url.query, auth, body))
        for fault in gh.faults:
            if fault.times > 0 and fault.method == method and re.search(fault.pattern, path):
                fault.times -= 1
                return JSONResponse(fault.body, status_code=fault.status, headers=fault.headers)
        if path.startswith("/blob/"):
            if auth is not None:
                return JSONResponse({"message": "token sent to blob storage"}, status_code=400)
            return Response(gh.blobs[int(path.rsplit("/", 1)[1])], media_type="application/zip")
        if auth != f"Bearer {gh.token}":
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        prefix = f"/repos/{REPO}"
        if not path.startswith(prefix):
            return JSONResponse({"message": "Not Found"}, status_code=404)
        rest = path[len(prefix) :]
        if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
            pr = int(m[1])
            if method == "GET":
                return _page(request, gh.comments_of(pr))
            cid = gh.next_id()
            item = {"id": cid, "body": body["body"], "user": {"login": BOT, "type": "Bot"}}
            gh.comments.setdefault(pr, []).append(item)
            return JSONResponse(item, status_code=201)
        if (m := re.fullmatch(r"/issues/comments/(\d+)", rest)) and method == "PATCH":
            for items in gh.comments.values():
                for item in items:
                    if item["id"] == int(m[1]):
                        if item["user"]["login"] != BOT:
                            return JSONResponse({"message": "Forbidden"}, status_code=403)
                        item["body"] = body["body"]
                        return JSONResponse(item)
            return JSONResponse({"message": "Not Found"}, status_code=404)
        if m := re.fullmatch(r"/pulls/(\d+)", rest):
            pull = gh.pulls.get(int(m[1]))
            if pull is None:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            return JSONResponse(pull)
        if m := re.fullmatch(r"/commits/([0-9a-f]{40})/pulls", rest):
            # GitHub lists "simple" pull requests here: without merged_by, as here.
            listed = [gh.pulls[n] for n in gh.commit_pulls.get(m[1], [])]
            return _page(
                request, [{k: v for k, v in p.items() if k != "merged_by"} for p in listed]
            )
        if m := re.fullmatch(r"/actions/runs/(\d+)/artifacts", rest):
            run = int(m[1])
            if run not in gh.artifacts:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            return _page(request, gh.artifacts[run], key="artifacts")
        if m := re.fullmatch(r"/actions/artifacts/(\d+)/zip", rest):
            if int(m[1]) not in gh.blobs:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            return RedirectResponse(f"{gh.blob_url}/blob/{m[1]}", status_code=302)
        return JSONResponse({"message": "Not Found"}, status_code=404)

    methods = ["GET", "POST", "PATCH"]
    return Starlette(routes=[Route("/{path:path}", handle, methods=methods)])


@pytest.fixture(scope="session")
def github_server() -> Iterator[FakeGitHub]:
    """The stand-in, served by uvicorn from a thread on a pre-opened loopback socket."""
    gh = FakeGitHub()
    socks = []
    for _ in range(2):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        socks.append(sock)
    gh.base_url = f"http://127.0.0.1:{socks[0].getsockname()[1]}"
    gh.blob_url = f"http://127.0.0.1:{socks[1].getsockname()[1]}"
    config = uvicorn.Config(
        create_app(gh), lifespan="off", access_log=False, log_config=None, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": socks}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30  # a bound on a hang, not an expectation of speed
    while not server.started:
        assert thread.is_alive(), "the stand-in stopped"
        assert time.monotonic() < deadline, "the stand-in did not start"
        time.sleep(0.005)
    try:
        yield gh
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.close()


@pytest.fixture
def gh(github_server: FakeGitHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> FakeGitHub:
    """The stand-in, emptied, with the job's GitHub variables pointing at it."""
    github_server.reset()
    for name in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_API_URL", github_server.base_url)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    # The job's checkout: every command reads its reconciler.yaml (defaults here).
    (tmp_path / "reconciler.yaml").write_text("version: 1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return github_server
