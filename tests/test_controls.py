"""Test controls: validation, targets, the middleware (delay, status, drop), CORS around it, and
the HTTP API under /__devserver/api/ (in process; test_controls_run.py drives a real server)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from unittest import mock

import aiohttp
import pytest
from aiohttp.test_utils import make_mocked_request

from devserver import create_app
from devserver.config import Config
from devserver.controls import ControlError, Controls, _api, resolve_target
from devserver.keys import CONTROLS, JOURNAL
from devserver.routing import build_table
from tests.conftest import write_app

APP = {
    "app/api/index.py": """
        async def get(req):
            return {"json": {"home": True}}
    """,
    "app/api/users/$id.py": """
        async def get(req):
            return {"json": {"id": req.params["id"]}}

        async def post(req):
            return {"status": 201, "json": {"saved": req.params["id"]}}
    """,
    "app/api/users/index.py": """
        async def get(req):
            return {"json": {"users": []}}
    """,
}
API = "/__devserver/api"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_app(tmp_path, APP)


# --- validation and targets ----------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "message"), [
    ({}, r"exactly one of `route` .* or `path`"),
    ({"route": "users/$id", "path": "/x", "status": 500}, "exactly one of"),
    ({"path": "users/1", "status": 500}, "must be a URL path starting with /"),
    ({"path": "/x"}, "must do something: give `delay_ms`, `status` or `drop`"),
    ({"path": "/x", "status": 600}, "`status` must be an HTTP status from 100 to 599, got 600"),
    ({"path": "/x", "status": "500"}, "`status` must be an HTTP status"),
    ({"path": "/x", "status": True}, "`status` must be an HTTP status"),
    ({"path": "/x", "delay_ms": -1}, "`delay_ms` must be a whole number of milliseconds"),
    ({"path": "/x", "delay_ms": 1.5}, "`delay_ms` must be a whole number"),
    ({"path": "/x", "drop": True, "status": 500}, "either answers a `status` or drops"),
    ({"path": "/x", "drop": "yes"}, "`drop` must be true or false"),
    ({"path": "/x", "status": 500, "times": 0}, "`times` must be a positive number"),
    ({"path": "/x", "status": 500, "method": "GE T"}, "`method` must be an HTTP method"),
])
def test_a_bad_control_says_what_is_wrong(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ControlError, match=message):
        Controls().add(**fields)


def test_targets_are_routes_in_any_spelling_or_paths() -> None:
    table = build_table(["index", "users/$id", "users/index", "docs/[...path]"])
    assert resolve_target(table, "users/$id") == ("users/$id", None)
    assert resolve_target(table, "/users/[id]") == ("users/$id", None)
    assert resolve_target(table, "users/[userId]") == ("users/$id", None)
    assert resolve_target(table, "/docs/$$") == ("docs/[...path]", None)
    assert resolve_target(table, "/") == ("index", None)
    assert resolve_target(table, "users") == ("users/index", None)
    assert resolve_target(table, "users/index") == ("users/index", None)
    assert resolve_target(table, "/users/1") == (None, "/users/1")
    assert resolve_target(table, "/users/[id]", kind="path") == (None, "/users/[id]")


def test_an_unknown_route_suggests_the_nearest() -> None:
    table = build_table(["users/$id", "posts/[slug]"])
    with pytest.raises(ControlError, match=r"no route 'user/\[id\]' in the table; did you mean users/\$id\?"):
        resolve_target(table, "user/[id]")
    with pytest.raises(ControlError, match=r"no route '/users/1' in the table"):
        resolve_target(table, "/users/1", kind="route")


def test_the_newest_control_that_applies_wins_and_times_runs_out() -> None:
    controls = Controls()
    slow = controls.add(route="users/$id", delay_ms=100)
    once = controls.add(route="users/$id", status=503, times=1, method="post")
    assert controls.take("POST", "/users/1", "users/$id") is once
    assert once.exhausted and once.hits == 1
    assert controls.take("POST", "/users/1", "users/$id") is slow
    assert controls.take("GET", "/users/1", "users/$id") is slow
    assert controls.take("GET", "/", "index") is None
    assert [c.action for c in controls.all()] == ["delay 100 ms", "status 503"]
    assert controls.remove(slow.id) and not controls.remove(slow.id)
    assert controls.clear() == 1 and len(controls) == 0


def test_a_path_control_matches_that_path_with_or_without_a_trailing_slash() -> None:
    controls = Controls()
    control = controls.add(path="/users/1/", drop=True, delay_ms=5)
    assert control.path == "/users/1" and control.action == "delay 5 ms, then drop"
    assert controls.take("GET", "/users/1/", "users/$id") is control
    assert controls.take("GET", "/users/12", "users/$id") is None


# --- the middleware ------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_delay_status_and_drop_seen_by_a_real_client(aiohttp_client: Any, root: Path) -> None:
    app = create_app(root)
    client = await aiohttp_client(app)
    controls = app[CONTROLS]

    controls.add(route="users/$id", delay_ms=300)
    started = time.perf_counter()
    response = await client.get("/users/1")
    assert response.status == 200 and time.perf_counter() - started >= 0.3

    controls.add(path="/users/2", status=503, times=1)
    response = await client.get("/users/2")
    assert response.status == 503
    assert (await response.json())["error"]["message"] == (
        "GET /users/2 answered 503 by devserver control #2 status 503 on any method path /users/2")
    assert (await client.get("/users/2")).status == 200  # times=1: used up; the delay applies again

    controls.add(route="index", status=429, json={"retry": True})
    response = await client.get("/")
    assert (response.status, await response.json()) == (429, {"retry": True})

    controls.add(route="users/$id", drop=True, method="POST")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.post("/users/1", json={})

    entries = app[JOURNAL].entries
    assert [(e.status, e.control) for e in entries] == [
        (200, "#1 delay 300 ms"), (503, "#2 status 503"), (200, "#1 delay 300 ms"),
        (429, "#3 status 429"), (None, "#4 drop")]


@pytest.mark.asyncio
async def test_controls_never_touch_devservers_own_endpoints(aiohttp_client: Any, root: Path) -> None:
    app = create_app(root)
    client = await aiohttp_client(app)
    app[CONTROLS].add(path="/__devserver/api/controls", drop=True)
    response = await client.get(f"{API}/controls")
    assert response.status == 200 and len((await response.json())["controls"]) == 1


@pytest.mark.asyncio
async def test_cors_headers_reach_a_failed_route(aiohttp_client: Any, root: Path) -> None:
    app = create_app(Config(root.resolve(), reload=False, cors=True))
    client = await aiohttp_client(app)
    app[CONTROLS].add(route="users/$id", status=503)
    origin = {"Origin": "http://localhost:5173"}
    preflight = await client.options("/users/1", headers={
        **origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-token"})
    assert preflight.status == 204  # answered before the control
    assert preflight.headers["Access-Control-Allow-Headers"] == "x-token"
    failed = await client.post("/users/1", headers=origin)
    assert failed.status == 503
    assert failed.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"


# --- the HTTP API, in process --------------------------------------------------------------------

@pytest.mark.asyncio
async def test_the_http_api_shapes(aiohttp_client: Any, root: Path) -> None:
    client = await aiohttp_client(create_app(root))

    response = await client.post(f"{API}/controls", json={"route": "/users/[id]", "status": 500,
                                                           "method": "get", "times": 2})
    assert response.status == 201
    control = (await response.json())["control"]
    assert control == {"id": 1, "route": "users/$id", "path": None, "method": "GET", "delay_ms": 0,
                       "status": 500, "drop": False, "times": 2, "hits": 0, "action": "status 500"}
    assert (await client.get("/users/1")).status == 500

    listed = await (await client.get(f"{API}/controls")).json()
    assert listed["controls"][0]["hits"] == 1

    journal = await (await client.get(f"{API}/journal")).json()
    assert journal["total"] == 1
    assert journal["requests"][0]["route"] == "users/$id"
    assert journal["requests"][0]["control"] == "#1 status 500"
    assert (await (await client.get(f"{API}/journal?method=POST")).json())["requests"] == []

    assert await (await client.delete(f"{API}/controls/1")).json() == {"removed": 1}
    assert (await client.delete(f"{API}/controls/1")).status == 404
    await client.post(f"{API}/controls", json={"path": "/", "delay_ms": 1})
    assert await (await client.delete(f"{API}/controls")).json() == {"removed": 1}
    assert await (await client.delete(f"{API}/journal")).json() == {"cleared": 1}
    await client.get("/")
    await client.post(f"{API}/controls", json={"path": "/", "delay_ms": 1})
    assert await (await client.post(f"{API}/reset")).json() == {"cleared": 1, "removed": 1}


@pytest.mark.asyncio
async def test_the_assert_endpoint(aiohttp_client: Any, root: Path) -> None:
    client = await aiohttp_client(create_app(root))
    await client.post("/users/1", json={"name": "Ada"})

    ok = await client.post(f"{API}/journal/assert", json={"method": "POST", "path": "/users/1",
                                                          "json": {"name": "Ada"}, "times": 1})
    body = await ok.json()
    assert ok.status == 200 and body["ok"] is True and body["count"] == 1

    missed = await client.post(f"{API}/journal/assert", json={"method": "GET", "path": "/users/2"})
    body = await missed.json()
    assert missed.status == 409 and body["ok"] is False
    assert body["message"].splitlines() == [
        "expected GET /users/2 to be requested, but it was not.",
        "The only recorded request:",
        "  POST /users/1 -> 201 (route users/$id; id='1') body {\"name\": \"Ada\"}",
        "Routing GET /users/2: users/$id answers /users/2",
    ]

    async def later() -> None:
        await asyncio.sleep(0.2)
        await client.get("/users/3")

    task = asyncio.create_task(later())
    waited = await client.post(f"{API}/journal/assert", json={"method": "GET", "path": "/users/3",
                                                              "timeout_ms": 5000})
    await task
    assert waited.status == 200


@pytest.mark.asyncio
@pytest.mark.parametrize(("method", "path", "body", "status", "message"), [
    ("POST", "/controls", {"path": "/x", "stauts": 500}, 400,
     "unknown field 'stauts'; did you mean 'status'?"),
    ("POST", "/controls", {"route": "user/$id", "status": 500}, 400,
     "did you mean users/$id or users/index?"),
    ("POST", "/controls", {"route": "/users/1", "status": 500}, 400, "no route '/users/1'"),
    ("POST", "/controls", {"path": "/x", "status": 99}, 400, "`status` must be an HTTP status"),
    ("POST", "/controls", [1], 400, "the body must be a JSON object"),
    ("POST", "/journal/assert", {"path": "/x"}, 400, 'give "method" (GET) and "path"'),
    ("PUT", "/controls", {}, 405, "/__devserver/api/controls answers DELETE, GET, POST, not PUT"),
    ("GET", "/nope", None, 404, "no devserver test endpoint /__devserver/api/nope"),
])
async def test_the_http_api_explains_bad_calls(aiohttp_client: Any, root: Path, method: str, path: str,
                                               body: Any, status: int, message: str) -> None:
    client = await aiohttp_client(create_app(root))
    response = await client.request(method, API + path, json=body)
    assert response.status == status
    assert message in (await response.json())["error"]["message"]


@pytest.mark.asyncio
async def test_a_body_that_is_not_json_is_refused(aiohttp_client: Any, root: Path) -> None:
    client = await aiohttp_client(create_app(root))
    response = await client.post(f"{API}/controls", data="status=500")
    assert response.status == 400
    assert "the body must be a JSON object" in (await response.json())["error"]["message"]


@pytest.mark.asyncio
async def test_only_this_machine_and_this_origin_may_call_it(aiohttp_client: Any, root: Path) -> None:
    app = create_app(root)
    client = await aiohttp_client(app)
    foreign_page = await client.post(f"{API}/controls", json={"path": "/", "drop": True},
                                     headers={"Origin": "http://evil.example"})
    assert foreign_page.status == 403
    rebinding = await client.get(f"{API}/journal", headers={"Host": "evil.example"})
    assert rebinding.status == 403
    assert len(app[CONTROLS]) == 0

    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        ("10.1.2.3", 5555) if name == "peername" else default)
    request = make_mocked_request("GET", f"{API}/journal", headers={"Host": "127.0.0.1"}, app=app,
                                  transport=transport)
    response = await _api(request)
    assert response.status == 403


@pytest.mark.asyncio
async def test_the_api_does_not_exist_outside_dev(aiohttp_client: Any, root: Path) -> None:
    client = await aiohttp_client(create_app(root, dev=False))
    response = await client.post(f"{API}/controls", json={"path": "/", "drop": True})
    assert response.status == 404
    assert (await client.get("/")).status == 200
