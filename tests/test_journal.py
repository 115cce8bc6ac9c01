"""The request journal: entries, queries, assertion messages, and the middleware that records."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData

from devserver import create_app
from devserver.journal import BODY_LIMIT, Entry, Journal, RequestNotFound, nearest
from devserver.keys import JOURNAL
from tests.conftest import write_app

APP = {
    "app/api/items/$id.py": """
        async def get(req):
            return {"json": {"id": req.params["id"]}}

        async def post(req):
            body = req.body
            return {"status": 201, "json": {"got": len(body) if isinstance(body, bytes) else body}}
    """,
    "app/api/teapot.py": """
        from aiohttp import web

        async def get(req):
            raise web.HTTPForbidden()
    """,
    "app/api/upload.py": """
        async def post(req):
            return {"json": {"fields": sorted(req.body)}}
    """,
    "public/site.css": "body { color: red }\n",
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_app(tmp_path, APP)


def entry(method: str = "GET", path: str = "/items/1", **kw: Any) -> Entry:
    kw.setdefault("route", "items/$id")
    kw.setdefault("status", 200)
    return Entry(method, path, **kw)


# --- entries and queries -------------------------------------------------------------------------

def test_entry_url_preview_and_bodies() -> None:
    e = entry("POST", query="a=1", body=b'{"name": "Ada"}', content_type="application/json")
    assert e.url == "/items/1?a=1"
    assert e.preview == '{"name": "Ada"}'
    assert e.json() == {"name": "Ada"}
    assert entry(body=b"x" * 500).preview == "x" * 200 + "…"
    assert entry(body=b"a=1&b=2&b=3").form() == {"a": "1", "b": ["2", "3"]}
    assert entry(params={"id": "1"}).describe() == "GET /items/1 -> 200 (route items/$id; id='1')"
    dropped = entry(status=None, route=None, control="#1 drop")
    assert dropped.describe() == "GET /items/1 -> dropped (no route) [control: #1 drop]"


def test_entry_as_dict_is_the_http_shape() -> None:
    shape = entry(params={"id": "1"}, duration_ms=1.23456).as_dict()
    assert set(shape) == {"method", "path", "query", "route", "params", "status", "duration_ms", "body",
                          "content_type", "headers", "control", "at"}
    assert shape["duration_ms"] == 1.235


def test_the_journal_is_bounded_and_counts_what_it_let_go() -> None:
    journal = Journal(size=3)
    for n in range(5):
        journal.record(entry(path=f"/items/{n}"))
    assert [e.path for e in journal] == ["/items/2", "/items/3", "/items/4"]
    assert (len(journal), journal.total) == (3, 5)
    assert journal.clear() == 3
    assert (len(journal), journal.total) == (0, 0)


def test_find_by_method_path_query_and_body() -> None:
    journal = Journal()
    journal.record(entry(query="page=2"))
    journal.record(entry("POST", body=b'{"a": 1}'))
    journal.record(entry(path="/items/1/"))
    assert len(journal.find("GET", "/items/1")) == 2  # any query; one trailing slash tolerated
    assert len(journal.find("get", "/items/1?page=2")) == 1  # a query in the path: exact
    assert journal.find("GET", "/items/1?page=3") == []
    assert len(journal.find("POST", "/items/1", json={"a": 1})) == 1
    assert journal.find("POST", "/items/1", json={"a": 2}) == []
    assert len(journal.find(path="/items/1")) == 3


def test_the_journal_can_be_read_while_another_thread_records() -> None:
    journal = Journal(size=50)
    stop = threading.Event()

    def record() -> None:
        while not stop.is_set():
            journal.record(entry())

    writer = threading.Thread(target=record)
    writer.start()
    try:
        for _ in range(200):
            assert len(journal.find("GET", "/items/1")) <= 50
    finally:
        stop.set()
        writer.join()


# --- assert_requested ----------------------------------------------------------------------------

def test_assert_requested_returns_the_matches() -> None:
    journal = Journal()
    journal.record(entry())
    journal.record(entry())
    assert len(journal.assert_requested("GET", "/items/1")) == 2
    assert len(journal.assert_requested("GET", "/items/1", times=2)) == 2
    journal.assert_requested("DELETE", "/items/1", times=0)


def test_a_miss_lists_the_nearest_requests_and_their_routes() -> None:
    journal = Journal()
    journal.record(entry("GET", "/users/1", route="users/$id", params={"id": "1"}))
    journal.record(entry("POST", "/items/2", route="items/$id", params={"id": "2"}, status=201))
    journal.record(entry("GET", "/about", route=None, status=404))
    journal.record(entry("GET", "/items/2", route="items/$id", params={"id": "2"}))

    with pytest.raises(RequestNotFound) as info:
        journal.assert_requested("GET", "/items/3", describe=lambda m, p: f"items/$id answers {p}")
    lines = str(info.value).splitlines()
    assert lines[0] == "expected GET /items/3 to be requested, but it was not."
    assert lines[1] == "The nearest of 4 recorded requests:"
    # Closest path with the same method first; every line names the route it hit.
    assert lines[2] == "  GET /items/2 -> 200 (route items/$id; id='2')"
    assert lines[3] == "  POST /items/2 -> 201 (route items/$id; id='2')"
    assert "  GET /about -> 404 (no route)" in lines
    assert lines[-1] == "Routing GET /items/3: items/$id answers /items/3"


def test_a_wrong_count_shows_the_requests_that_matched() -> None:
    journal = Journal()
    journal.record(entry())
    journal.record(entry())
    with pytest.raises(RequestNotFound, match=re.escape(
            "expected GET /items/1 to be requested once, but it was requested twice.\n"
            "The matching requests:\n  GET /items/1 -> 200")):
        journal.assert_requested("GET", "/items/1", times=1)
    with pytest.raises(RequestNotFound, match="requested 0 times, but it was requested twice"):
        journal.assert_requested("GET", "/items/1", times=0)


def test_a_wrong_body_shows_the_bodies_that_came() -> None:
    journal = Journal()
    journal.record(entry("POST", body=b'{"name": "Bob"}'))
    with pytest.raises(RequestNotFound) as info:
        journal.assert_requested("POST", "/items/1", json={"name": "Ada"})
    message = str(info.value)
    assert message.startswith('expected POST /items/1 with json {"name": "Ada"} to be requested')
    assert 'POST /items/1 was requested once, with other bodies:\n  POST /items/1 -> 200' in message
    assert 'body {"name": "Bob"}' in message


def test_an_empty_journal_says_so() -> None:
    with pytest.raises(RequestNotFound, match="No request was recorded since the last reset"):
        Journal().assert_requested("GET", "/")


def test_nearest_keeps_one_of_identical_requests() -> None:
    entries = [entry(), entry(), entry(path="/items/2"), entry("DELETE", "/other", route=None)]
    assert [e.url for e in nearest(entries, "GET", "/items/1")] == ["/items/1", "/items/2", "/other"]


# --- the middleware ------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_every_app_request_is_recorded(aiohttp_client: Any, root: Path) -> None:
    app = create_app(root)
    client = await aiohttp_client(app)
    assert (await client.get("/items/7?x=1", headers={"Accept": "application/json"})).status == 200
    assert (await client.post("/items/7", json={"name": "Ada"})).status == 201
    assert (await client.get("/nowhere")).status == 404
    assert (await client.get("/teapot")).status == 403
    assert (await client.get("/_public/site.css")).status == 200

    get, post, missing, teapot, css = app[JOURNAL].entries
    assert (get.method, get.path, get.query, get.route, get.params, get.status) == (
        "GET", "/items/7", "x=1", "items/$id", {"id": "7"}, 200)
    assert get.duration_ms > 0 and get.body == b"" and get.headers["Accept"] == "application/json"
    assert (post.status, post.json(), post.content_type) == (201, {"name": "Ada"}, "application/json")
    assert (missing.route, missing.status) == (None, 404)
    assert (teapot.route, teapot.status) == ("teapot", 403)
    assert (css.route, css.status) == (None, 200)


@pytest.mark.asyncio
async def test_devservers_own_endpoints_are_not_recorded(aiohttp_client: Any, root: Path) -> None:
    app = create_app(root)
    client = await aiohttp_client(app)
    await client.get("/__devserver/api/journal")
    await client.get("/__routes.json")
    assert app[JOURNAL].entries == []


@pytest.mark.asyncio
async def test_bodies_are_kept_only_when_cheap(aiohttp_client: Any, root: Path) -> None:
    app = create_app(root)
    client = await aiohttp_client(app)
    form = FormData()
    form.add_field("file", b"abc", filename="a.txt")
    assert (await client.post("/upload", data=form)).status == 200
    assert (await client.post("/items/1", data=b"x" * (BODY_LIMIT + 1),
                              headers={"Content-Type": "application/octet-stream"})).status == 201
    assert (await client.post("/items/1", data={"name": "Ada"})).status in (201, 303)
    upload, big, form_post = app[JOURNAL].entries
    assert upload.body == b"" and upload.content_type == "multipart/form-data"
    assert big.body == b""
    assert form_post.form() == {"name": "Ada"}


@pytest.mark.asyncio
async def test_there_is_no_journal_outside_dev(aiohttp_client: Any, root: Path) -> None:
    app = create_app(root, dev=False)
    client = await aiohttp_client(app)
    assert JOURNAL not in app
    assert (await client.get("/items/1")).status == 200
    assert (await client.get("/__devserver/api/journal")).status == 404
