"""DESIGN §3 sessions, through real HTTP: replace semantics, the ``_idx`` cookie, tampering,
the key from ``DEVSERVER_SECRET`` or ``ROOT/.devserver/secret``, and the 7-day rolling expiry.

Three ``devserver run`` processes serve the same app: two share a ``DEVSERVER_SECRET`` (with
different ROOTs, so no secret file can be what they share) and one uses its secret file.
The expiry is tested in-process with a clock that can be moved.
"""

from __future__ import annotations

import http.client
import json
import os
import stat
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from http.cookies import Morsel, SimpleCookie
from pathlib import Path
from typing import Any

import pytest

from devserver import create_app
from tests.conftest import Server, start_server, write_app

JSON = "application/json"
HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
SHARED_SECRET = "correct horse battery staple"
WEEK = 7 * 24 * 3600

APP = {
    "app/api/session.py": """
        async def get(req):
            return {"json": req.session}

        async def post(req):  # replace the session with the body
            return {"session": req.body, "json": req.body}

        async def put(req):  # merging is explicit
            return {"session": {**req.session, **req.body}}

        async def delete(req):
            return {"session": {}}

        async def patch(req):  # req.session is a copy: changing it changes nothing
            req.session["sneaky"] = True
            return {"json": {"seen": req.session}}
    """,
    "app/api/sync_session.py": """
        def post(req):
            return {"session": {"from": "thread"}}
    """,
    "app/api/login.py": """
        async def post(req):
            return {"location": "/session", "session": {**req.session, "flash": "saved"}}
    """,
    "app/api/bad_session.py": """
        import datetime

        async def post(req):
            return {"session": {"when": datetime.datetime(2024, 1, 1)}}
    """,
    "app/api/raw.py": """
        from aiohttp import web

        async def get(req):
            return web.Response(text="raw")
    """,
    "app/api/visit.py": """
        async def get(req):  # a GET may start a session too
            return {"session": {"visited": req.params.get("n", True)}, "json": {"hello": 1}}
    """,
    "app/api/boom.py": """
        async def get(req):
            raise RuntimeError("no session change on failure")
    """,
}


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def cookie(self) -> Morsel[str] | None:
        """The ``_idx`` cookie this response sets (or deletes), if any."""
        found: Morsel[str] | None = None
        for header in self.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            if "_idx" in jar:
                assert found is None, "two _idx cookies in one response"
                found = jar["_idx"]
        return found


def fetch(url: str, method: str = "GET", path: str = "/session", *, cookie: str | None = None,
          value: Any = None, accept: str = JSON, raw_cookie: bytes | None = None) -> Reply:
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    try:
        conn.putrequest(method, path)
        conn.putheader("Accept", accept)
        if cookie is not None:
            conn.putheader("Cookie", f"_idx={cookie}")
        if raw_cookie is not None:
            conn.putheader("Cookie", b"_idx=" + raw_cookie)
        body = json.dumps(value).encode() if value is not None else b""
        if value is not None:
            conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return Reply(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def login(url: str, session: dict[str, Any]) -> str:
    reply = fetch(url, "POST", value=session)
    assert reply.status == 200
    morsel = reply.cookie()
    assert morsel is not None and morsel.value
    return morsel.value


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    started: dict[str, Server] = {}
    try:
        for name, secret in (("a", SHARED_SECRET), ("b", SHARED_SECRET), ("file", "")):
            root = write_app(tmp_path_factory.mktemp(f"sessions-{name}"), APP)
            started[name] = start_server(root, env={"DEVSERVER_SECRET": secret})
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(scope="module")
def url(servers: dict[str, Server]) -> str:
    return servers["a"].url


def root_of(server: Server) -> Path:
    return Path(server.proc.args[4])  # type: ignore[index]  # python -m devserver run ROOT


# --- replace semantics --------------------------------------------------------------------------


def test_no_cookie_is_an_empty_session_and_sets_nothing(url: str) -> None:
    reply = fetch(url)
    assert (reply.status, reply.json()) == (200, {})
    assert reply.cookie() is None


def test_a_returned_session_is_stored_in_the_cookie(url: str) -> None:
    cookie = login(url, {"user": "ann", "n": 1})
    assert "ann" not in cookie  # encrypted, not merely encoded
    assert fetch(url, cookie=cookie).json() == {"user": "ann", "n": 1}


def test_a_get_without_a_cookie_may_start_a_session(url: str) -> None:
    reply = fetch(url, path="/visit")
    assert (reply.status, reply.json()) == (200, {"hello": 1})
    morsel = reply.cookie()
    assert morsel is not None and morsel.value
    assert fetch(url, cookie=morsel.value).json() == {"visited": True}


def test_a_returned_session_replaces_the_old_one(url: str) -> None:
    cookie = login(url, {"user": "ann", "n": 1})
    reply = fetch(url, "POST", cookie=cookie, value={"other": True})
    replaced = reply.cookie()
    assert replaced is not None
    assert fetch(url, cookie=replaced.value).json() == {"other": True}


def test_merging_is_done_by_the_handler(url: str) -> None:
    cookie = login(url, {"user": "ann"})
    merged = fetch(url, "PUT", cookie=cookie, value={"theme": "dark"}).cookie()
    assert merged is not None
    assert fetch(url, cookie=merged.value).json() == {"user": "ann", "theme": "dark"}


def test_no_session_key_leaves_the_session_and_req_session_is_a_copy(url: str) -> None:
    cookie = login(url, {"user": "ann"})
    reply = fetch(url, "PATCH", cookie=cookie)
    assert reply.json() == {"seen": {"user": "ann", "sneaky": True}}
    rolled = reply.cookie()
    assert rolled is not None
    assert fetch(url, cookie=rolled.value).json() == {"user": "ann"}
    assert fetch(url, cookie=cookie).json() == {"user": "ann"}


def test_an_empty_session_clears_it(url: str) -> None:
    cookie = login(url, {"user": "ann"})
    reply = fetch(url, "DELETE", cookie=cookie)
    assert reply.status == 200
    cleared = reply.cookie()
    assert cleared is not None
    assert cleared.value == ""
    assert cleared["max-age"] == "0"
    assert cleared["path"] == "/"
    assert fetch(url, cookie=cleared.value).json() == {}


def test_a_sync_handler_may_return_a_session(url: str) -> None:
    reply = fetch(url, "POST", "/sync_session")
    morsel = reply.cookie()
    assert morsel is not None
    assert fetch(url, cookie=morsel.value).json() == {"from": "thread"}


def test_a_session_comes_with_a_redirect(url: str) -> None:
    cookie = login(url, {"user": "ann"})
    reply = fetch(url, "POST", "/login", cookie=cookie, accept=HTML)
    assert (reply.status, reply.headers["Location"]) == (303, "/session")
    morsel = reply.cookie()
    assert morsel is not None
    assert fetch(url, cookie=morsel.value).json() == {"user": "ann", "flash": "saved"}


def test_a_session_that_is_not_json_is_a_500_that_says_so(url: str) -> None:
    reply = fetch(url, "POST", "/bad_session")
    assert reply.status == 500
    message = reply.json()["error"]["message"]
    assert "`session`" in message and "JSON" in message and "datetime" in message
    assert reply.cookie() is None


def test_a_failing_handler_does_not_change_the_session(url: str) -> None:
    cookie = login(url, {"user": "ann"})
    assert fetch(url, path="/boom", cookie=cookie).status == 500
    assert fetch(url, cookie=cookie).json() == {"user": "ann"}


# --- the cookie ---------------------------------------------------------------------------------


def test_cookie_attributes(url: str) -> None:
    reply = fetch(url, "POST", value={"user": "ann"})
    morsel = reply.cookie()
    assert morsel is not None
    assert morsel.key == "_idx"
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/"
    assert morsel["max-age"] == str(WEEK)
    expires = time.mktime(time.strptime(morsel["expires"], "%a, %d-%b-%Y %H:%M:%S GMT")) - time.timezone
    assert abs(expires - (time.time() + WEEK)) < 60
    assert not morsel["secure"]  # served over plain http on localhost


def test_the_cookie_is_reissued_on_every_response_so_expiry_rolls(url: str) -> None:
    cookie = login(url, {"user": "ann"})
    for path in ("/session", "/raw"):
        morsel = fetch(url, path=path, cookie=cookie).cookie()
        assert morsel is not None, path
        assert morsel["max-age"] == str(WEEK)
        assert fetch(url, cookie=morsel.value).json() == {"user": "ann"}


@pytest.mark.parametrize("tamper", ["flip", "truncate", "garbage", "empty", "other-key"])
def test_a_tampered_cookie_is_an_empty_session(servers: dict[str, Server], tamper: str) -> None:
    url = servers["a"].url
    cookie = login(url, {"user": "ann"})
    if tamper == "flip":
        middle = len(cookie) // 2
        bad = cookie[:middle] + ("A" if cookie[middle] != "A" else "B") + cookie[middle + 1:]
    elif tamper == "truncate":
        bad = cookie[:-5]
    elif tamper == "garbage":
        bad = "not-a-fernet-token"
    elif tamper == "empty":
        bad = ""
    else:
        bad = login(servers["file"].url, {"user": "mallory"})  # encrypted with another key
    reply = fetch(url, cookie=bad)
    assert (reply.status, reply.json()) == (200, {})
    assert fetch(url, "POST", cookie=bad, value={"fresh": 1}).status == 200


def test_a_cookie_with_undecodable_bytes_is_an_empty_session(url: str) -> None:
    reply = fetch(url, raw_cookie=b"\xff\xfe\x80abc")
    assert (reply.status, reply.json()) == (200, {})


def test_an_undecryptable_cookie_is_deleted(url: str) -> None:
    morsel = fetch(url, cookie="not-a-fernet-token").cookie()
    assert morsel is not None
    assert (morsel.value, morsel["max-age"]) == ("", "0")


# --- the key --------------------------------------------------------------------------------------


def test_devserver_secret_makes_cookies_valid_across_processes(servers: dict[str, Server]) -> None:
    cookie = login(servers["a"].url, {"user": "ann"})
    assert fetch(servers["b"].url, cookie=cookie).json() == {"user": "ann"}
    back = login(servers["b"].url, {"user": "bob"})
    assert fetch(servers["a"].url, cookie=back).json() == {"user": "bob"}
    assert fetch(servers["file"].url, cookie=cookie).json() == {}


def test_with_devserver_secret_no_secret_file_is_written(servers: dict[str, Server]) -> None:
    for name in ("a", "b"):
        assert not (root_of(servers[name]) / ".devserver" / "secret").exists()


def test_without_it_a_secret_file_is_created_with_mode_0600(servers: dict[str, Server]) -> None:
    state = root_of(servers["file"]) / ".devserver"
    secret = state / "secret"
    assert secret.is_file()
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert len(secret.read_text().strip()) >= 32


# --- in-process: the secret file across restarts, and the rolling expiry --------------------------


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DEVSERVER_SECRET", raising=False)
    return write_app(tmp_path, APP)


def _cookie_of(resp: Any) -> Morsel[str] | None:
    morsel: Morsel[str] | None = resp.cookies.get("_idx")
    return morsel


@pytest.mark.asyncio
async def test_the_secret_file_keeps_sessions_across_restarts(aiohttp_client: Any, root: Path) -> None:
    first = await aiohttp_client(create_app(root))
    resp = await first.post("/session", json={"user": "ann"})
    morsel = _cookie_of(resp)
    assert morsel is not None
    secret = (root / ".devserver" / "secret").read_text()
    second = await aiohttp_client(create_app(root))
    resp = await second.get("/session", cookies={"_idx": morsel.value})
    assert await resp.json() == {"user": "ann"}
    assert (root / ".devserver" / "secret").read_text() == secret


@pytest.mark.asyncio
async def test_an_empty_devserver_secret_falls_back_to_the_file(
        aiohttp_client: Any, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVSERVER_SECRET", "")
    await aiohttp_client(create_app(root))
    assert (root / ".devserver" / "secret").is_file()


class Clock:
    """``time.time`` that can be moved forward (Fernet and aiohttp-session both read it)."""

    def __init__(self) -> None:
        self.offset = 0.0
        self._real = time.time

    def __call__(self) -> float:
        return self._real() + self.offset

    def days(self, n: float) -> None:
        self.offset += n * 24 * 3600


@pytest.mark.asyncio
async def test_the_expiry_rolls_with_every_response(aiohttp_client: Any, root: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(time, "time", clock)
    client = await aiohttp_client(create_app(root))

    async def visit(cookie: str) -> tuple[Any, str | None]:
        client.session.cookie_jar.clear()
        resp = await client.get("/session", cookies={"_idx": cookie}, headers={"Accept": JSON})
        morsel = _cookie_of(resp)
        return await resp.json(), morsel.value if morsel is not None else None

    resp = await client.post("/session", json={"user": "ann"})
    morsel = _cookie_of(resp)
    assert morsel is not None
    cookie = morsel.value
    for _ in range(4):  # a visit every 6 days keeps the session for 24 days and more
        clock.days(6)
        data, renewed = await visit(cookie)
        assert data == {"user": "ann"}
        assert renewed
        cookie = renewed
    clock.days(7.1)  # then 7 days without a visit: gone
    data, _ = await visit(cookie)
    assert data == {}


@pytest.mark.asyncio
async def test_sessions_work_outside_dev(aiohttp_client: Any, root: Path) -> None:
    client = await aiohttp_client(create_app(root, dev=False))
    resp = await client.post("/session", json={"user": "ann"})
    assert resp.status == 200
    resp = await client.get("/session")
    assert await resp.json() == {"user": "ann"}
    assert os.path.exists(root / ".devserver" / "secret")
