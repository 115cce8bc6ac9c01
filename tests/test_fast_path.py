"""The dispatcher's fast path answers exactly as the general path does.

A GET without a body or a session cookie to an async handler takes a shorter path through
``server._dispatch`` (PERF, issue 7). The same request with a cookie that is not the session's,
or to the same handler written as a plain ``def``, takes the general path. Every kind of answer a
handler can give must come out the same both ways: status, body and headers.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest

from tests.conftest import Server, start_server, write_app

ANSWERS = {
    "plain": 'return {"json": {"id": req.params["id"], "q": req.query}}',
    "status": 'return {"json": {"made": True}, "status": 201, "headers": {"X-Made": "yes"}}',
    "empty": 'return {"status": 204}',
    "location": 'return {"location": "/elsewhere"}',
    "text": 'return {"text": "hello", "type": "text/plain"}',
    "none": "return None",
    "badkey": 'return {"jsno": 1}',
    "unencodable": 'return {"json": {"s": {1, 2}}}',
    "raises": 'raise ValueError("boom")',
    "http": "raise web.HTTPNotFound(text='custom')",
    "response": 'return web.json_response({"raw": True}, status=202)',
    "session": 'return {"json": {"ok": True}, "session": {"user": "ada"}}',
    "paged": 'return {"json": {"name": "Ada"}}',
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("fast")
    files = {}
    for name, body in ANSWERS.items():
        for style, prefix in (("async", "async def"), ("sync", "def")):
            files[f"app/api/{style}/{name}/[id].py"] = (
                f"from aiohttp import web\n\n{prefix} get(req):\n    {body}\n")
    for style in ("async", "sync"):
        files[f"app/pages/{style}/paged/[id].html"] = "<h1>{{ store.name }}</h1>\n"
    server = start_server(write_app(root, files), "--no-reload")
    yield server
    server.stop()


VARYING = {"date", "set-cookie", "content-length", "server"}


def fetch(server: Server, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str, bool]:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read().decode()
        kept = {k.lower(): v for k, v in resp.getheaders() if k.lower() not in VARYING}
        return resp.status, kept, body, resp.getheader("Set-Cookie") is not None
    finally:
        conn.close()


ACCEPTS = {"json": "application/json", "html": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.mark.parametrize("accept", list(ACCEPTS))
@pytest.mark.parametrize("name", list(ANSWERS))
def test_fast_and_general_paths_answer_alike(server: Server, name: str, accept: str) -> None:
    base = {"Accept": ACCEPTS[accept]}
    fast = fetch(server, f"/async/{name}/7?x=1", base)
    # The same handler, with a cookie that is not the session's: the general path.
    general = fetch(server, f"/async/{name}/7?x=1", {**base, "Cookie": "other=1"})
    # The same answer from a plain `def` (run in a thread): the general path, another file.
    threaded = fetch(server, f"/sync/{name}/7?x=1", base)
    assert general[:2] + general[3:] == fast[:2] + fast[3:] == threaded[:2] + threaded[3:]
    if name == "raises":
        # The tracebacks differ only in devserver's own frames (the paths call the handler from
        # different places); both name the error and the handler's file and line.
        for body in (fast[2], general[2], threaded[2]):
            assert "ValueError: boom" in body and "[id].py" in body and "line 4" in body
    else:
        assert general[2] == fast[2]
        # (an error page quotes the handler's source: `def` there, `async def` here)
        assert threaded[2].replace("/sync/", "/async/") == fast[2].replace("async def", "def")


def test_the_fast_path_answers_json_with_the_dev_headers(server: Server) -> None:
    status, headers, body, _ = fetch(server, "/async/plain/7?x=1", {"Accept": "application/json"})
    assert (status, body) == (200, '{"id": "7", "q": {"x": "1"}}')
    assert headers["content-type"].startswith("application/json")
    assert headers["cache-control"] == "no-cache"
    status, _headers, _body, cookie = fetch(server, "/async/session/7", {"Accept": "application/json"})
    assert status == 200 and cookie  # a returned session is saved on the fast path too
