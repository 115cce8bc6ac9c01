"""The dashboard's HTTP side: /__routes, /__routes.json, /__routes/match, and who may reach them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devserver import create_app
from devserver.config import Config
from devserver.dashboard import editor_link
from devserver.keys import LIVE
from devserver.live import ReloadReport

from .conftest import write_app

GET = "async def get(req):\n    return {'json': {'route': %r}}\n"
GET_POST = GET + "\n\nasync def post(req):\n    return {'json': {'posted': True}}\n"

# DESIGN §2's precedence examples, and one of each parameter kind.
PRECEDENCE = {
    "app/api/docs/quickstart.py": GET % "docs/quickstart",
    "app/api/docs/$slug.py": GET % "docs/$slug",
    "app/api/post/create.py": GET % "post/create",
    "app/api/post/[pid].py": GET % "post/[pid]",
    "app/api/post/[...slug].py": GET % "post/[...slug]",
    "app/api/a/[x]/c.py": GET % "a/[x]/c",
    "app/api/a/b/[y].py": GET % "a/b/[y]",
    "app/api/shop/[[...filters]].py": GET % "shop/[[...filters]]",
    "app/api/users/index.py": GET_POST % "users/index",
}

json_accept = {"Accept": "application/json"}


@pytest.fixture
def precedence_root(tmp_path: Path) -> Path:
    return write_app(tmp_path, PRECEDENCE)


async def _json(client: Any, url: str, status: int = 200, **kwargs: Any) -> Any:
    resp = await client.get(url, **kwargs)
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _match(client: Any, path: str, method: str = "GET", accept: str | None = None) -> Any:
    params = {"path": path, "method": method}
    if accept is not None:
        params["accept"] = accept
    return await _json(client, "/__routes/match", params=params)


# ---- /__routes.json ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_routes_json_is_the_table_in_precedence_order(aiohttp_client: Any,
                                                            precedence_root: Path) -> None:
    client = await aiohttp_client(create_app(precedence_root))
    data = await _json(client, "/__routes.json")
    assert [r["id"] for r in data["routes"]] == [
        "a/b/[y]", "a/[x]/c", "docs/quickstart", "docs/$slug", "post/create", "post/[pid]",
        "post/[...slug]", "shop/[[...filters]]", "users/index",
    ]
    assert [r["rank"] for r in data["routes"]] == list(range(1, 10))
    assert set(data) >= {"routes", "problems", "warnings", "last_reload", "preflight_error", "project"}
    assert data["problems"] == [] and data["last_reload"] is None
    users = data["routes"][-1]
    assert users["pattern"] == "/users" and users["status"] == "ok"
    assert users["methods"] == ["GET", "HEAD", "OPTIONS", "POST"]
    assert [(h["method"], h["name"], h["line"]) for h in users["handlers"]] == [
        ("GET", "get", 1), ("POST", "post", 5)]
    shop = data["routes"][-2]
    assert shop["params"] == [{"name": "filters", "kind": "optional catch-all"}]
    assert shop["segments"] == [{"text": "shop", "kind": "static"},
                                {"text": "[[...filters]]", "kind": "optional catch-all"}]


@pytest.mark.asyncio
async def test_routes_json_has_the_cli_data_in_the_same_shape(aiohttp_client: Any,
                                                              precedence_root: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "devserver", "routes", str(precedence_root), "--json"],
                          capture_output=True, text=True, timeout=60, check=True)
    cli = json.loads(done.stdout)
    client = await aiohttp_client(create_app(precedence_root))
    dash = await _json(client, "/__routes.json")
    for key, value in cli.items():
        if key != "routes":
            assert dash[key] == value, key
    assert len(dash["routes"]) == len(cli["routes"])
    for dash_row, cli_row in zip(dash["routes"], cli["routes"], strict=True):
        for key, value in cli_row.items():
            if key == "handlers":  # the dashboard adds an editor link to each handler
                assert [{k: h[k] for k in ("method", "name", "line")} for h in dash_row[key]] == value
            else:
                assert dash_row[key] == value, (cli_row["id"], key)


@pytest.mark.asyncio
async def test_routes_json_links_files_and_lines_to_the_editor(aiohttp_client: Any, tmp_path: Path) -> None:
    root = write_app(tmp_path, {"app/api/users/$id.py": "# one user\n\n" + GET % "u",
                                "app/pages/users/[id].html": "<p>{{ store.route }}</p>\n"})
    client = await aiohttp_client(create_app(Config(root.resolve(), reload=False)))
    row = (await _json(client, "/__routes.json"))["routes"][0]
    api = root.resolve() / "app/api/users/%24id.py"
    assert row["links"]["api"] == f"vscode://file{api.as_posix()}:3"
    assert row["handlers"][0]["link"] == f"vscode://file{api.as_posix()}:3"
    assert row["links"]["page"].endswith("/app/pages/users/%5Bid%5D.html:1")
    assert row["links"]["error"] is None

    client = await aiohttp_client(create_app(Config(root.resolve(), reload=False, editor="idea")))
    row = (await _json(client, "/__routes.json"))["routes"][0]
    assert row["links"]["api"] == f"idea://open?file={api.as_posix()}&line=3"


@pytest.mark.parametrize(("editor", "expected"), [
    ("vscode", "vscode://file/p/app/x.py:7"),
    ("cursor", "cursor://file/p/app/x.py:7"),
    ("sublime", "subl://open?url=file:///p/app/x.py&line=7"),
    ("my-editor", "my-editor://file/p/app/x.py:7"),
    ("ed://open?f={file}&l={line}", "ed://open?f=/p/app/x.py&l=7"),
    ("none", None),
    ("", None),
    ("javascript", None),
    ("javascript:alert({file})", None),
    ("data:text/html,{file}", None),
])
def test_editor_links(editor: str, expected: str | None) -> None:
    assert editor_link(editor, Path("/p"), "app/x.py", 7) == expected


def test_editor_links_percent_encode_the_path() -> None:
    link = editor_link("vscode", Path("/p q"), "app/api/<img src=x onerror=alert(1)>.py", None)
    assert link == "vscode://file/p%20q/app/api/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.py:1"


@pytest.mark.asyncio
async def test_routes_json_shows_problems_and_broken_modules(aiohttp_client: Any, tmp_path: Path) -> None:
    root = write_app(tmp_path, {
        "app/api/users/[id].py": GET % "id",
        "app/api/users/[slug].py": GET % "slug",
        "app/api/shop/book-[id].py": GET % "book",
        "app/api/broken.py": "import not_a_module_anywhere\n",
        "app/preflight.py": "raise RuntimeError('preflight is down')\n",
    })
    client = await aiohttp_client(create_app(root))
    data = await _json(client, "/__routes.json")
    rows = {r["id"]: r for r in data["routes"]}
    assert rows["users/[id]"]["status"] == rows["users/[slug]"]["status"] == "conflict"
    assert "app/api/users/[id].py" in rows["users/[id]"]["problems"][0]["message"]
    assert rows["shop/book-[id]"]["status"] == "warning"
    broken = rows["broken"]
    assert broken["status"] == "broken" and broken["methods"] == [] and broken["handlers"] == []
    assert broken["error"]["type"] == "ModuleNotFoundError" and broken["error"]["line"] == 1
    assert broken["links"]["error"].endswith("/app/api/broken.py:1")
    assert {p["rule"] for p in data["problems"]} == {"duplicate-route", "mixed-segment"}
    assert "preflight is down" in data["preflight_error"]["message"]
    assert data["preflight_error"]["link"].endswith("/app/preflight.py:1")


@pytest.mark.asyncio
async def test_routes_json_carries_the_last_reload(aiohttp_client: Any, precedence_root: Path) -> None:
    app = create_app(precedence_root)
    client = await aiohttp_client(app)
    report = ReloadReport(("app/api/x.py",), ("app/api/x.py",), "in place", "changed module", 12.345,
                          errors=("app/api/x.py:1: SyntaxError: bad",), routes=("x",), at=1700000000.0)
    await app[LIVE].announce(report)
    data = await _json(client, "/__routes.json")
    assert data["last_reload"] == report.as_dict()
    assert data["last_reload"]["duration_ms"] == 12.35 and data["last_reload"]["type"] == "reload"


# ---- /__routes/match -----------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(("path", "winner", "params"), [
    ("/docs/quickstart", "docs/quickstart", {}),
    ("/docs/glossary", "docs/$slug", {"slug": "glossary"}),
    ("/post/create", "post/create", {}),
    ("/post/1", "post/[pid]", {"pid": "1"}),
    ("/post/1/2", "post/[...slug]", {"slug": ["1", "2"]}),
    ("/a/b/c", "a/b/[y]", {"y": "c"}),
    ("/a/z/c", "a/[x]/c", {"x": "z"}),
    ("/shop", "shop/[[...filters]]", {}),
    ("/shop/red/xl", "shop/[[...filters]]", {"filters": ["red", "xl"]}),
    ("/users/", "users/index", {}),
    ("/docs/a%2Fb", "docs/$slug", {"slug": "a/b"}),
])
async def test_match_finds_the_known_winner(aiohttp_client: Any, precedence_root: Path, path: str,
                                           winner: str, params: dict[str, Any]) -> None:
    client = await aiohttp_client(create_app(precedence_root))
    data = await _match(client, path)
    assert (data["status"], data["winner"], data["params"]) == (200, winner, params)
    assert data["route"]["id"] == winner
    assert [c["rank"] for c in data["candidates"]] == list(range(1, 10))
    assert [c["route"] for c in data["candidates"] if c["outcome"] == "winner"] == [winner]


@pytest.mark.asyncio
async def test_match_says_why_every_other_route_lost(aiohttp_client: Any, precedence_root: Path) -> None:
    client = await aiohttp_client(create_app(precedence_root))
    data = await _match(client, "/docs/glossary")
    reasons = {c["route"]: (c["outcome"], c["reason"]) for c in data["candidates"]}
    assert reasons["docs/quickstart"] == ("no-match", "static `quickstart` ≠ `glossary`")
    assert reasons["docs/$slug"] == ("winner", "matches")
    assert reasons["users/index"] == ("no-match", "static `users` ≠ `docs`")

    data = await _match(client, "/docs/quickstart")
    reasons = {c["route"]: (c["outcome"], c["reason"]) for c in data["candidates"]}
    assert reasons["docs/$slug"] == ("outranked", "outranked by docs/quickstart")

    data = await _match(client, "/post")
    reasons = {c["route"]: c["reason"] for c in data["candidates"]}
    assert data["status"] == 404 and data["winner"] is None and data["route"] is None
    assert reasons["post/[...slug]"] == "needs at least one more segment"
    assert data["representation"]["kind"] == "error" and data["representation"]["status"] == 404


@pytest.mark.asyncio
async def test_match_reports_a_method_the_route_does_not_export(aiohttp_client: Any,
                                                                precedence_root: Path) -> None:
    client = await aiohttp_client(create_app(precedence_root))
    data = await _match(client, "/post/1", "post", accept="application/json")
    assert data["method"] == "POST" and data["status"] == 405
    assert data["allowed"] == ["GET", "HEAD", "OPTIONS"]
    winner = [c for c in data["candidates"] if c["route"] == "post/[pid]"][0]
    assert (winner["outcome"], winner["reason"]) == ("wrong-method", "method POST not exported: 405")
    assert data["representation"] == {**data["representation"], "kind": "error", "status": 405,
                                      "content_type": "application/json"}


@pytest.mark.asyncio
async def test_match_suggests_close_static_routes(aiohttp_client: Any, precedence_root: Path) -> None:
    client = await aiohttp_client(create_app(precedence_root))
    data = await _match(client, "/user")
    assert data["status"] == 404 and "/users" in data["suggestions"]


@pytest.mark.asyncio
async def test_match_of_a_conflict_or_a_broken_module_is_a_500(aiohttp_client: Any, tmp_path: Path) -> None:
    root = write_app(tmp_path, {"app/api/users/[id].py": GET % "id", "app/api/users/[slug].py": GET % "s",
                                "app/api/broken.py": "def get(req):\n    return {}\n1/0\n"})
    client = await aiohttp_client(create_app(root))
    data = await _match(client, "/users/1")
    assert data["status"] == 500 and "users/[slug]" in data["summary"]
    data = await _match(client, "/broken")
    assert data["status"] == 500 and "ZeroDivisionError" in data["summary"]
    assert data["route"]["status"] == "broken"
    assert data["representation"]["kind"] == "error"


@pytest.mark.asyncio
@pytest.mark.parametrize("query", ["", "?path=", "?path=users", "?path=/x&method=G%20T",
                                   "?path=/x&method=" + "A" * 30])
async def test_match_refuses_a_bad_query(aiohttp_client: Any, precedence_root: Path, query: str) -> None:
    client = await aiohttp_client(create_app(precedence_root))
    data = await _json(client, "/__routes/match" + query, 400)
    assert data["error"]["status"] == 400


@pytest.mark.asyncio
async def test_match_of_an_invalid_path_is_a_400_explanation(aiohttp_client: Any,
                                                             precedence_root: Path) -> None:
    client = await aiohttp_client(create_app(precedence_root))
    data = await _match(client, "/docs/%zz")
    assert data["status"] == 400 and "percent-encoding" in data["summary"]


# Three kinds of route, every method and several Accept headers: the representation the dashboard
# predicts must be what the server answers (a guard against the two drifting apart).
REPRESENTATION = {
    "app/api/api_only.py": GET_POST % "api",
    "app/pages/page_only.html": "<p>page</p>\n",
    "app/api/both.py": GET_POST % "both",
    "app/pages/both.html": "<p>{{ store.route }}</p>\n",
}
ACCEPTS = [None, "text/html", "application/json", "*/*", "image/png",
           "application/json;q=0.5, text/html", "application/problem+json"]


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/api_only", "/page_only", "/both", "/nowhere"])
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "DELETE", "OPTIONS"])
async def test_representation_is_what_the_server_answers(aiohttp_client: Any, tmp_path: Path,
                                                         path: str, method: str) -> None:
    client = await aiohttp_client(create_app(write_app(tmp_path, REPRESENTATION)))
    for accept in ACCEPTS:
        rep = (await _match(client, path, method, accept))["representation"]
        headers = {"Accept": accept} if accept is not None else {"Accept": ""}
        resp = await client.request(method, path, headers=headers, allow_redirects=False)
        where = f"{method} {path} Accept={accept!r}: {rep}"
        assert resp.status == rep["status"], where
        if resp.status != 204:
            assert resp.content_type == rep["content_type"], where
        if rep["kind"] == "page":
            assert rep["template"] is not None
        if rep["kind"] == "json" and method not in ("HEAD",):
            assert "route" in await resp.json() or "posted" in await resp.json(), where


@pytest.mark.asyncio
async def test_representation_names_redirects_for_html_clients_only(aiohttp_client: Any,
                                                                    tmp_path: Path) -> None:
    client = await aiohttp_client(create_app(write_app(tmp_path, REPRESENTATION)))
    rep = (await _match(client, "/both", "POST"))["representation"]
    assert (rep["kind"], rep["redirect"], rep["template"]) == ("page", 303, "app/pages/both.html")
    rep = (await _match(client, "/api_only", "GET"))["representation"]
    assert (rep["kind"], rep["redirect"]) == ("json", 302)
    rep = (await _match(client, "/api_only", "GET", "application/json"))["representation"]
    assert (rep["kind"], rep["redirect"]) == ("json", None)
    rep = (await _match(client, "/page_only", "GET", "application/json"))["representation"]
    assert (rep["kind"], rep["status"]) == ("not-acceptable", 406)
    assert rep["accept"] == {"html": 0.0, "json": 1.0}


# ---- the page ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_page_embeds_the_data_and_its_assets_are_served(aiohttp_client: Any,
                                                                  precedence_root: Path) -> None:
    client = await aiohttp_client(create_app(precedence_root))
    resp = await client.get("/__routes")
    assert resp.status == 200 and resp.content_type == "text/html"
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    html = await resp.text()
    assert "data-devserver-no-reload" in html and "/__devserver/static/live.js" not in html
    start = html.index('<script type="application/json" id="dashboard-data">') + 52
    embedded = json.loads(html[start:html.index("</script>", start)])
    as_json = await _json(client, "/__routes.json")
    assert as_json.pop("process")["tasks"] >= 1  # live counts, only in the JSON
    assert embedded == as_json
    for asset in ("dashboard.js", "dashboard.css", "dashboard.svg"):
        assert (await client.get(f"/__devserver/static/{asset}")).status == 200, asset
    assert "//" not in "".join(line for line in html.splitlines() if "src=" in line or "href=" in line
                               if "http" in line), "every asset is local"


@pytest.mark.asyncio
async def test_route_file_names_are_escaped_everywhere(aiohttp_client: Any, tmp_path: Path) -> None:
    name = "<img src=x onerror=alert(1)>"
    root = write_app(tmp_path, {f"app/api/{name}.py": GET % name,
                                "app/api/x<!--<script>.py": GET % "x"})
    client = await aiohttp_client(create_app(root))
    html = await (await client.get("/__routes")).text()
    assert "<img" not in html and "<!--<script>" not in html
    ids = [r["id"] for r in (await _json(client, "/__routes.json"))["routes"]]
    assert name in ids


@pytest.mark.asyncio
async def test_a_trailing_slash_redirects_and_other_methods_are_refused(aiohttp_client: Any,
                                                                        precedence_root: Path) -> None:
    client = await aiohttp_client(create_app(precedence_root))
    resp = await client.get("/__routes/?path=/x", allow_redirects=False)
    assert resp.status == 308 and resp.headers["Location"] == "/__routes?path=/x"
    for url in ("/__routes", "/__routes.json", "/__routes/match?path=/"):
        resp = await client.post(url)
        assert resp.status == 405 and resp.headers["Allow"] == "GET, HEAD", url


# ---- who may reach it ----------------------------------------------------------------------------

INTERNAL = ["/__routes", "/__routes.json", "/__routes/match?path=/docs/x", "/__devserver/ws",
            "/__devserver/static/dashboard.js"]


@pytest.mark.asyncio
@pytest.mark.parametrize("url", INTERNAL)
@pytest.mark.parametrize("host", ["evil.example", "evil.example:3333", "127.0.0.1.evil.example",
                                  "localhost.evil.example:80", "192.168.1.20:3333"])
async def test_a_foreign_host_gets_403(aiohttp_client: Any, precedence_root: Path, url: str,
                                       host: str) -> None:
    client = await aiohttp_client(create_app(precedence_root))
    resp = await client.get(url, headers={"Host": host})
    assert resp.status == 403
    assert "Host" in (await resp.json())["error"]["message"]


@pytest.mark.asyncio
@pytest.mark.parametrize("host", ["localhost:3333", "127.0.0.1", "[::1]:3333", "app.localhost"])
async def test_loopback_hosts_are_served(aiohttp_client: Any, precedence_root: Path, host: str) -> None:
    client = await aiohttp_client(create_app(precedence_root))
    for url in INTERNAL[:3]:
        assert (await client.get(url, headers={"Host": host})).status == 200, url


@pytest.mark.asyncio
async def test_the_bound_address_is_served_when_it_is_not_loopback(aiohttp_client: Any,
                                                                   precedence_root: Path) -> None:
    config = Config(precedence_root.resolve(), host="192.168.1.20", reload=False)
    client = await aiohttp_client(create_app(config))
    assert (await client.get("/__routes.json", headers={"Host": "192.168.1.20:3333"})).status == 200
    assert (await client.get("/__routes.json", headers={"Host": "192.168.1.21:3333"})).status == 403


@pytest.mark.asyncio
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://localhost:1",
                                    "file://", "chrome-extension://abc"])
async def test_the_websocket_refuses_a_foreign_origin(aiohttp_client: Any, precedence_root: Path,
                                                      origin: str) -> None:
    client = await aiohttp_client(create_app(precedence_root))
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/__devserver/ws", headers={"Origin": origin})
    assert refused.value.status == 403


@pytest.mark.asyncio
async def test_the_websocket_accepts_its_own_origin_and_sends_reloads(aiohttp_client: Any,
                                                                      precedence_root: Path) -> None:
    app = create_app(precedence_root)
    client = await aiohttp_client(app)
    origin = f"http://{client.host}:{client.port}"
    ws = await client.ws_connect("/__devserver/ws", headers={"Origin": origin})
    assert (await ws.receive_json(timeout=5)) == {"type": "hello"}
    report = ReloadReport(("app/api/x.py",), (), "in place", "changed module", 1.0, at=1.0)
    await app[LIVE].announce(report)
    assert (await ws.receive_json(timeout=5)) == report.as_dict()
    await ws.close()


@pytest.mark.asyncio
async def test_outside_dev_the_dashboard_does_not_exist(aiohttp_client: Any, precedence_root: Path) -> None:
    client = await aiohttp_client(create_app(precedence_root, dev=False))
    for url in INTERNAL:
        resp = await client.get(url, headers=json_accept)
        assert resp.status == 404, url
        assert "vscode" not in await resp.text()


def test_binding_a_non_loopback_host_warns_that_the_dashboard_shows_file_paths(
        precedence_root: Path) -> None:
    # 192.0.2.1 is TEST-NET-1: the warning comes first, then binding fails; nothing is exposed.
    done = subprocess.run([sys.executable, "-m", "devserver", "run", str(precedence_root),
                           "--host", "192.0.2.1", "--port", "0", "--no-reload"],
                          capture_output=True, text=True, timeout=60)
    assert "warning: binding 192.0.2.1 makes devserver reachable from other machines" in done.stderr
    assert "dashboard" in done.stderr and "file paths" in done.stderr
    assert done.returncode != 0
