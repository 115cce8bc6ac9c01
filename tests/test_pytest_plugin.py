"""The pytest plugin: fresh projects run with ``pytester`` (each fixture, a failing assertion's
message, root and option resolution, ``-n 2``), the live fixture used here directly, and the
browser example from the README against the demo."""

from __future__ import annotations

import json
import re
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devserver.pytest_plugin import LiveServer
from tests.conftest import REPO, require_chromium, write_app

pytest_plugins = ["pytester"]

DEMO = REPO / "demo"

APP = {
    "app/api/items/$id.py": """
        async def get(req):
            return {"json": {"id": req.params["id"]}}

        async def post(req):
            return {"status": 201, "json": {"got": req.body}}
    """,
    "app/api/index.py": """
        async def get(req):
            return {"json": {"home": True}}
    """,
}
INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
filterwarnings = error
addopts = -p no:cacheprovider --strict-markers
markers = browser: drives chromium
"""
HELPERS = '''
import json
import urllib.error
import urllib.request


def call(url, data=None, headers=None):
    """(status, headers, body) from a plain urllib request."""
    body = json.dumps(data).encode() if data is not None else None
    headers = {"Accept": "application/json", "Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")
'''


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A fresh pytest project holding a devserver app in ``project/``."""
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID",
                 "PYTEST_ADDOPTS"):
        monkeypatch.delenv(name, raising=False)
    write_app(pytester.path / "project", APP)
    pytester.makepyfile(helpers=HELPERS)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # A subprocess: the inner session loads the plugin from its entry point, as a user's does.
    return pytester.runpytest_subprocess(*args, timeout=300)


# --- fresh projects ------------------------------------------------------------------------------

def test_every_fixture_in_a_fresh_project(project: pytest.Pytester) -> None:
    project.makeini(INI + "devserver_root = project\n")
    project.makepyfile(test_fixtures='''
        import time
        import pytest
        from helpers import call

        URLS = []


        def test_root(devserver_root):
            assert (devserver_root / "app" / "api" / "index.py").is_file()


        @pytest.mark.asyncio
        async def test_app_with_aiohttp_client(aiohttp_client, devserver_app):
            client = await aiohttp_client(devserver_app)
            response = await client.get("/items/1")
            assert (response.status, await response.json()) == (200, {"id": "1"})


        @pytest.mark.asyncio
        async def test_client(devserver_client):
            response = await devserver_client.post("/items/2", json={"a": 1})
            assert (response.status, await response.json()) == (201, {"got": {"a": 1}})


        def test_live(devserver_live):
            URLS.append(devserver_live.url)
            assert devserver_live.url.startswith("http://127.0.0.1:")
            assert call(devserver_live.url + "/items/1")[2] == {"id": "1"}
            assert call(devserver_live.url_for("/items/2"), {"name": "Ada"})[0] == 201
            (entry,) = devserver_live.assert_requested("GET", "/items/1", times=1)
            assert (entry.route, entry.params, entry.status) == ("items/$id", {"id": "1"}, 200)
            devserver_live.assert_requested("POST", "/items/2", json={"name": "Ada"})
            devserver_live.assert_not_requested("DELETE", "/items/1")
            devserver_live.fail("items/[id]", 503)  # left for the next test to find reset


        def test_live_is_shared_and_reset(devserver_live):
            assert URLS == [devserver_live.url]  # started once per session
            assert list(devserver_live.journal) == []
            assert call(devserver_live.url + "/items/1")[0] == 200


        def test_controls(devserver_live):
            devserver_live.delay("/items/[id]", 300)
            started = time.perf_counter()
            assert call(devserver_live.url + "/items/1")[0] == 200
            assert time.perf_counter() - started >= 0.3
            devserver_live.fail("/items/2", 418, json={"nope": True}, times=1)
            assert call(devserver_live.url + "/items/2")[:3:2] == (418, {"nope": True})
            devserver_live.drop("index")
            with pytest.raises(Exception):
                call(devserver_live.url + "/")
            assert [e.control for e in devserver_live.journal] == [
                "#1 delay 300 ms", "#2 status 418", "#3 drop"]
            devserver_live.reset()
            assert call(devserver_live.url + "/")[0] == 200
    ''')
    project.makepyfile(test_cors='''
        import pytest
        from helpers import call


        @pytest.fixture
        def devserver_options():
            return {"cors": True}


        def test_cors_option(devserver_live):
            status, headers, _ = call(devserver_live.url + "/", headers={"Origin": "http://localhost:5173"})
            assert headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    ''')
    project.makepyfile(test_no_cors='''
        from helpers import call


        def test_cors_is_off_by_default(devserver_live):
            status, headers, _ = call(devserver_live.url + "/", headers={"Origin": "http://localhost:5173"})
            assert status == 200 and "Access-Control-Allow-Origin" not in headers
    ''')
    result = run(project)
    result.assert_outcomes(passed=8)


def test_a_failing_assert_requested_explains_itself(project: pytest.Pytester) -> None:
    project.makeini(INI + "devserver_root = project\n")
    project.makepyfile(test_miss='''
        from helpers import call


        def test_miss(devserver_live):
            call(devserver_live.url + "/items/1")
            call(devserver_live.url + "/items/2", {"name": "Ada"})
            call(devserver_live.url + "/item/3")
            devserver_live.assert_requested("GET", "/items/3")
    ''')
    result = run(project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E*RequestNotFound: expected GET /items/3 to be requested, but it was not.",
        "E*The nearest of 3 recorded requests:",
        "E*  GET /item/3 -> 404 (no route)",
        "E*  GET /items/1 -> 200 (route items/$id; id='1')",
        "E*  POST /items/2 -> 201 (route items/$id; id='2') body {\"name\": \"Ada\"}",
        "E*Routing GET /items/3: items/$id answers /items/3",
        "test_miss.py:8: RequestNotFound",
    ])
    # The plugin's own frames are hidden: the traceback ends at the user's line.
    assert "pytest_plugin.py" not in result.stdout.str()


def test_the_root_from_the_command_line_and_cors_from_the_ini(project: pytest.Pytester) -> None:
    project.makeini(INI + "devserver_cors = true\n")
    project.makepyfile(test_cli='''
        from pathlib import Path
        from helpers import call


        def test_root_and_cors(devserver_root, devserver_live):
            assert devserver_root == Path("project").resolve()
            _, headers, _ = call(devserver_live.url + "/", headers={"Origin": "http://localhost:5173"})
            assert headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    ''')
    run(project, "--devserver-root", "project").assert_outcomes(passed=1)


def test_a_conftest_override_and_a_missing_root(project: pytest.Pytester) -> None:
    project.makeini(INI)
    (project.path / "with_root").mkdir()
    (project.path / "with_root" / "conftest.py").write_text(textwrap.dedent('''
        import pytest


        @pytest.fixture(scope="session")
        def devserver_root():
            return "project"  # a str, relative to the current folder, is fine
    '''))
    (project.path / "with_root" / "test_ok.py").write_text(textwrap.dedent('''
        from helpers import call


        def test_ok(devserver_live):
            assert call(devserver_live.url + "/items/9")[2] == {"id": "9"}
    '''))
    (project.path / "without_root").mkdir()
    (project.path / "without_root" / "test_lost.py").write_text(textwrap.dedent('''
        def test_lost(devserver_live):
            pass
    '''))
    result = run(project, "--rootdir", str(project.path))
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*devserver_root: which project should devserver serve? Set `devserver_root = path/to/project` "
        "in the ini file, pass --devserver-root PATH, or override the devserver_root fixture*",
    ])


def test_each_xdist_worker_has_its_own_server(project: pytest.Pytester) -> None:
    project.makeini(INI + "devserver_root = project\n")
    out = project.path / "seen"
    out.mkdir()
    project.makepyfile(test_workers=f'''
        import json
        import os
        import pytest
        from helpers import call


        @pytest.mark.parametrize("n", range(8))
        def test_one(devserver_live, n):
            call(devserver_live.url + f"/items/{{n}}")
            (entry,) = devserver_live.journal  # only this test's request, on this worker's server
            assert entry.path == f"/items/{{n}}"
            record = {{"worker": os.environ["PYTEST_XDIST_WORKER"], "url": devserver_live.url}}
            with open(os.path.join({str(out)!r}, f"{{n}}.json"), "w") as handle:
                json.dump(record, handle)
    ''')
    run(project, "-n", "2").assert_outcomes(passed=8)
    seen = [json.loads(p.read_text()) for p in out.glob("*.json")]
    urls_by_worker: dict[str, set[str]] = {}
    for record in seen:
        urls_by_worker.setdefault(record["worker"], set()).add(record["url"])
    assert sorted(urls_by_worker) == ["gw0", "gw1"]
    assert all(len(urls) == 1 for urls in urls_by_worker.values())  # once per session
    assert urls_by_worker["gw0"] != urls_by_worker["gw1"]


# --- the live fixture, used here -----------------------------------------------------------------

@pytest.fixture(scope="module")
def devserver_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_app(tmp_path_factory.mktemp("live"), APP)


def fetch(url: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_control_set_from_python_is_seen_by_a_real_client(devserver_live: LiveServer) -> None:
    devserver_live.delay("items/$id", 250, times=1)
    started = time.perf_counter()
    assert fetch(devserver_live.url + "/items/1") == (200, {"id": "1"})
    assert time.perf_counter() - started >= 0.25
    devserver_live.fail("items/[id]", 500, method="GET")
    status, body = fetch(devserver_live.url + "/items/1")
    assert status == 500 and "devserver control #2" in body["error"]["message"]
    devserver_live.drop("/")
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        fetch(devserver_live.url + "/")
    assert [e.status for e in devserver_live.requests] == [200, 500, None]


def test_an_unknown_route_is_a_clear_error(devserver_live: LiveServer) -> None:
    with pytest.raises(ValueError, match=r"no route 'item/\[id\]' in the table; did you mean items/\$id\?"):
        devserver_live.fail("item/[id]", 500)


def test_assert_requested_can_wait(devserver_live: LiveServer) -> None:
    import threading

    timer = threading.Timer(0.2, fetch, args=(devserver_live.url + "/items/5",))
    timer.start()
    try:
        devserver_live.assert_requested("GET", "/items/5", timeout=10)
    finally:
        timer.join()


# --- the browser example -------------------------------------------------------------------------

# The README's example, verbatim (test_the_readme_example_is_this_one keeps them the same).
BROWSER_EXAMPLE = '''\
# tests/test_browser.py: run with `pytest --devserver-root demo` (or `devserver_root = demo` in pytest.ini)
import os

import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"  # Debian's chromium: apt-get install chromium
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    yield context.new_page()
    context.close()


@pytest.mark.browser
def test_rename_a_user(page, devserver_live):
    page.goto(devserver_live.url + "/")
    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page).to_have_url(devserver_live.url + "/users/1")

    page.get_by_label("Name").fill("Ada King")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_have_text("Saved. This user is now called Ada King.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada King")
    devserver_live.assert_requested("POST", "/users/1", form={"name": "Ada King"}, times=1)


@pytest.mark.browser
def test_the_user_page_when_the_api_fails(page, devserver_live):
    devserver_live.fail("users/[id]", 503)
    response = page.goto(devserver_live.url + "/users/2")
    assert response.status == 503
    devserver_live.assert_requested("GET", "/users/2", times=1)
'''


def readme_example() -> str | None:
    """The README's browser example (the python block that starts like ours), if it has one."""
    readme = (REPO / "README.md").read_text()
    first = BROWSER_EXAMPLE.splitlines()[0]
    for block in re.findall(r"```python\n(.*?)```", readme, re.S):
        if block.startswith(first.split(":")[0]):
            return str(block)
    return None


def test_the_readme_example_is_this_one() -> None:
    found = readme_example()
    if found is not None:
        assert found == BROWSER_EXAMPLE


@pytest.mark.browser
def test_the_readme_browser_example_passes_against_the_demo(project: pytest.Pytester) -> None:
    require_chromium()
    project.makeini(INI)
    project.makepyfile(test_browser=readme_example() or BROWSER_EXAMPLE)
    run(project, "--devserver-root", str(DEMO)).assert_outcomes(passed=2)


@pytest.mark.browser
class TestTheDemoInABrowser:
    """The same flow in this session (the shared ``browser`` fixture): the live fixture serves the
    demo from a background thread."""

    @pytest.fixture
    def devserver_root(self) -> Path:
        return DEMO

    @pytest.fixture
    def page(self, browser: Any) -> Iterator[Any]:
        context = browser.new_context()
        yield context.new_page()
        context.close()

    def test_rename_a_user(self, page: Any, devserver_live: LiveServer) -> None:
        from playwright.sync_api import expect

        page.goto(devserver_live.url + "/")
        page.get_by_role("link", name="Grace Hopper").click()
        expect(page).to_have_url(devserver_live.url + "/users/2")
        page.get_by_label("Name").fill("Amazing Grace")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_have_text("Saved. This user is now called Amazing Grace.")
        expect(page.get_by_role("heading", level=1)).to_have_text("Amazing Grace")
        devserver_live.assert_requested("POST", "/users/2", form={"name": "Amazing Grace"}, times=1)
        (post,) = devserver_live.journal.find("POST", "/users/2")
        assert (post.route, post.status) == ("users/$id", 303)


def test_another_projects_package_does_not_shadow_this_roots_app(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found in CI: a root left on sys.path by an earlier app whose ``app/lib`` has an
    ``__init__.py`` won ``import app.lib.users`` over the demo's namespace ``app/lib/``.
    ``create_app`` for two roots in one process (the plugin does this per test) must keep them apart."""
    import sys

    from devserver.config import Config
    from devserver.keys import STATE
    from devserver.server import create_app

    other, mine = tmp_path / "other", tmp_path / "mine"
    for root, name in ((other, "other"), (mine, "mine")):
        (root / "app/api").mkdir(parents=True)
        (root / "app/lib").mkdir()
        (root / "app/lib/users.py").write_text(f"NAME = {name!r}\n")
        (root / "app/api/who.py").write_text("from app.lib.users import NAME\n\n"
                                             "def get(req):\n    return {'json': NAME}\n")
    (other / "app/__init__.py").write_text("")  # a regular package: it would beat mine's namespace
    (other / "app/lib/__init__.py").write_text("")
    monkeypatch.setattr(sys, "path", list(sys.path))
    # NOTE: the import system keeps using the one ``sys.modules`` dict even if the attribute is
    # replaced, so the earlier tests' ``app`` modules are put back by hand afterwards.
    before = {n: m for n, m in sys.modules.items() if n == "app" or n.startswith("app.")}
    names = {}
    try:
        for root in (other, mine):
            app = create_app(Config(root.resolve(), dev=True, reload=False, host="127.0.0.1", port=0))
            module = app[STATE].state.modules["who"]
            assert module.error is None, module.error
            names[root.name] = module.handlers["GET"].fn(None)["json"]
    finally:
        for name in [n for n in sys.modules if n == "app" or n.startswith("app.")]:
            del sys.modules[name]
        sys.modules.update(before)
    assert names == {"other": "other", "mine": "mine"}
    assert str(other.resolve()) not in sys.path
