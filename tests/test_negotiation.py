"""Content negotiation (DESIGN §4): Accept values x route kinds x methods through a real server.

JSON when the client's ``Accept`` prefers ``application/json`` (or a ``+json`` type) over
``text/html`` by q-value; HTML otherwise, including ``*/*`` and no ``Accept``. API-only routes
always answer JSON; page-only routes answer 406 to a client that takes no HTML. Every response
whose form depends on ``Accept`` carries ``Vary: Accept``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devserver.negotiation import preference

from .conftest import start_server, write_app
from .test_pages import BROWSER, Reply, fetch, store_of


@dataclass(frozen=True)
class Client:
    """An ``Accept`` header and what it means: JSON preferred? HTML acceptable at all?"""

    accept: str | None
    json_first: bool
    html_ok: bool


FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SAFARI = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
CURL = "*/*"

CLIENTS: dict[str, Client] = {
    "none": Client(None, False, True),
    "empty": Client("", False, True),
    "star": Client("*/*", False, True),
    "html": Client("text/html", False, True),
    "json": Client("application/json", True, False),
    "json-charset": Client("application/json; charset=utf-8", True, False),
    "JSON-upper": Client("Application/JSON", True, False),
    "vnd+json": Client("application/vnd.api+json", True, False),
    "ld+json": Client("application/ld+json", True, False),
    "app-star": Client("application/*", True, False),
    "text-star": Client("text/*", False, True),
    "chrome": Client(BROWSER, False, True),
    "firefox": Client(FIREFOX, False, True),
    "json-then-html": Client("application/json, text/html;q=0.9", True, True),
    "html-low-json-high": Client("text/html;q=0.5, application/json;q=0.9", True, True),
    "json-low-html-high": Client("application/json;q=0.5, text/html", False, True),
    "tie": Client("application/json, text/html", False, True),
    "json-star-low": Client("application/json, */*;q=0.1", True, True),
    "star-then-json": Client("*/*;q=0.8, application/json", True, True),
    "no-html": Client("text/html;q=0, application/json", True, False),
    "no-json": Client("application/json;q=0, */*", False, True),
    "html-refused-by-star": Client("text/html;q=0, */*", True, False),
    "bad-q": Client("application/json;q=abc, text/html;q=0.2", False, True),
    "level": Client("text/html;level=1;q=0.4, application/json;q=0.3", False, True),
    "image": Client("image/png", False, False),
}

METHODS = ["GET", "HEAD", "POST", "PUT"]

HANDLERS = """
    async def get(req):
        return {"json": {"kind": KIND, "method": req.method}}


    async def post(req):
        return {"json": {"kind": KIND, "method": req.method}}


    async def put(req):
        return {"json": {"kind": KIND, "method": req.method}}
"""

PAGE = """
    <html><body><h1>{{ store.kind or "page" }} {{ req.method }}</h1></body></html>
"""

APP = {
    "app/api/api_only.py": 'KIND = "api"\n' + textwrap.dedent(HANDLERS),
    "app/pages/page_only.html": PAGE,
    "app/api/both.py": 'KIND = "both"\n' + textwrap.dedent(HANDLERS),
    "app/pages/both.html": PAGE,
}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = write_app(tmp_path_factory.mktemp("negotiation"), APP)
    server = start_server(root, "--no-reload")
    yield server.url
    server.stop()


def ask(url: str, method: str, path: str, client: Client) -> Reply:
    # NOTE: an empty Accept header is sent as one, not dropped.
    headers = {"Accept": client.accept} if client.accept is not None else {}
    return fetch(url, method, path, accept=None, headers=headers)


def assert_vary(reply: Reply) -> None:
    vary = [v.strip().lower() for v in (reply.header("Vary") or "").split(",")]
    assert "accept" in vary, f"no Vary: Accept on {reply.status} {reply.headers}"


def assert_html(reply: Reply, method: str) -> None:
    assert reply.ctype == "text/html", (reply.status, reply.headers)
    if method != "HEAD":
        assert "<html" in reply.text


def assert_json(reply: Reply, method: str) -> None:
    assert reply.ctype == "application/json", (reply.status, reply.headers)
    if method == "HEAD":
        assert reply.body == b""


def assert_error_form(reply: Reply, client: Client, method: str) -> None:
    """Errors follow the client: JSON ``{"error": ...}`` when it prefers JSON, else HTML."""
    if client.json_first:
        assert_json(reply, method)
        if method != "HEAD":
            assert reply.json()["error"]["status"] == reply.status
    else:
        assert_html(reply, method)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", CLIENTS)
def test_api_only_routes_always_answer_json(url: str, name: str, method: str) -> None:
    reply = ask(url, method, "/api_only", CLIENTS[name])
    assert reply.status == 200
    assert_json(reply, method)
    assert_vary(reply)
    if method != "HEAD":
        assert reply.json() == {"kind": "api", "method": method}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", CLIENTS)
def test_page_only_routes(url: str, name: str, method: str) -> None:
    client = CLIENTS[name]
    reply = ask(url, method, "/page_only", client)
    assert_vary(reply)
    if method in ("POST", "PUT"):
        assert reply.status == 405
        assert reply.header("Allow") == "GET, HEAD, OPTIONS"
        assert_error_form(reply, client, method)
    elif client.html_ok:
        assert reply.status == 200
        assert_html(reply, method)
        if method == "GET":
            assert f"<h1>page {method}</h1>" in reply.text
            assert store_of(reply.text) == {}
    else:
        assert reply.status == 406
        assert_error_form(reply, client, method)
        if method == "GET" and client.json_first:
            assert "only a page" in reply.json()["error"]["message"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", CLIENTS)
def test_api_and_page_routes(url: str, name: str, method: str) -> None:
    client = CLIENTS[name]
    reply = ask(url, method, "/both", client)
    assert reply.status == 200
    assert_vary(reply)
    if client.json_first or not client.html_ok:
        assert_json(reply, method)
        if method != "HEAD":
            assert reply.json() == {"kind": "both", "method": method}
    else:
        assert_html(reply, method)
        if method != "HEAD":
            # GET renders the page; POST and PUT re-render it with what the handler returned.
            assert f"<h1>both {method}</h1>" in reply.text
            assert store_of(reply.text) == {"kind": "both", "method": method}


def test_head_answers_like_get_without_a_body(url: str) -> None:
    for path in ("/api_only", "/page_only", "/both"):
        for accept in (BROWSER, "application/json", None):
            client = Client(accept, False, True)
            get, head = ask(url, "GET", path, client), ask(url, "HEAD", path, client)
            if get.status == 406:
                assert head.status == 406
                continue
            assert (head.status, head.body) == (get.status, b"")
            assert head.header("Content-Type") == get.header("Content-Type")
            # The body would name the method (HEAD runs `get` with req.method == "HEAD").
            assert int(head.header("Content-Length") or 0) > 0


@pytest.mark.parametrize("path", ["/api_only", "/page_only", "/both"])
@pytest.mark.parametrize("accept", [BROWSER, "application/json"])
def test_options_answers_204_with_allow(url: str, path: str, accept: str) -> None:
    reply = fetch(url, "OPTIONS", path, accept=accept)
    assert reply.status == 204
    expected = "GET, HEAD, OPTIONS" if path == "/page_only" else "GET, HEAD, OPTIONS, POST, PUT"
    assert reply.header("Allow") == expected
    assert_vary(reply)


@pytest.mark.parametrize("name", ["chrome", "json", "none", "image"])
def test_errors_vary_on_accept(url: str, name: str) -> None:
    client = CLIENTS[name]
    for method, path, status in [("GET", "/nowhere", 404), ("DELETE", "/both", 405),
                                 ("DELETE", "/api_only", 405)]:
        reply = ask(url, method, path, client)
        assert reply.status == status
        assert_vary(reply)
        assert reply.header("Cache-Control") == "no-cache"  # dev: every response
        assert_error_form(reply, client, method)


def test_handler_vary_is_kept_and_accept_added(tmp_path: Path) -> None:
    root = write_app(tmp_path, {
        "app/api/v.py": """
            async def get(req):
                return {"json": {}, "headers": {"Vary": req.query.get("vary", "Cookie")}}
        """,
        "app/pages/v.html": "<html><body></body></html>",
    })
    server = start_server(root, "--no-reload")
    try:
        for accept in (BROWSER, "application/json"):
            assert fetch(server.url, "GET", "/v", accept=accept).header("Vary") == "Cookie, Accept"
            assert fetch(server.url, "GET", "/v?vary=accept", accept=accept).header("Vary") == "accept"
            assert fetch(server.url, "GET", "/v?vary=*", accept=accept).header("Vary") == "*"
    finally:
        server.stop()


def test_redirects_depend_on_accept_and_vary(tmp_path: Path) -> None:
    root = write_app(tmp_path, {
        "app/api/go.py": """
            async def post(req):
                return {"location": "/done", "json": {"went": True}}
        """,
    })
    server = start_server(root, "--no-reload")
    try:
        html = fetch(server.url, "POST", "/go", accept=BROWSER, body=b"")
        assert (html.status, html.header("Location")) == (303, "/done")
        assert_vary(html)
        as_json = fetch(server.url, "POST", "/go", accept="application/json", body=b"")
        assert (as_json.status, as_json.json()) == (200, {"went": True})
        assert_vary(as_json)
    finally:
        server.stop()


# --- the parser itself ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", CLIENTS)
def test_preference_matches_the_table(name: str) -> None:
    client = CLIENTS[name]
    pref = preference(client.accept)
    assert pref.wants_json is client.json_first
    assert pref.html_acceptable is client.html_ok


@pytest.mark.parametrize(("accept", "html", "json"), [
    ("text/html;q=0.3, text/*;q=0.9, */*;q=1", 0.3, 1.0),  # the most specific range decides
    ("application/json;q=0.2, application/*;q=0.9", 0.0, 0.2),
    ("application/problem+json;q=0.7", 0.0, 0.7),
    ("text/html;q=2", 1.0, 0.0),  # clamped
    ("text/html;q=-1, */*;q=0.5", 0.0, 0.5),
    ("  text/html ; q=0.4 ,application/json;Q=0.6", 0.4, 0.6),
    ("garbage, ,;;, text/html", 1.0, 0.0),
])
def test_preference_q_values(accept: str, html: float, json: float) -> None:
    pref = preference(accept)
    assert (pref.html, pref.json) == (html, json)
