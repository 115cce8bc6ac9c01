"""The /__routes dashboard in real Chromium: the demo's table, the URL tester, live updates, Send.

Screenshots go to test-artifacts/. With DEVSERVER_UPDATE_SCREENSHOT=1 the first test also writes
the README's docs/images/dashboard.png.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import ARTIFACTS, REPO, Server, start_server

pytestmark = pytest.mark.browser

DEMO_ROUTES = ["/", "/docs/[...path]", "/posts/[[page]]", "/users/$id"]
WAIT = 10_000  # ms: a file change reaches the page through watchdog, a reload and the WebSocket
# NOTE: no page.wait_for_function here: the dashboard's CSP (script-src 'self') forbids the eval it
# needs. Locators and expect() wait without evaluating strings in the page.


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Path, Server]]:
    """A copy of the demo (tests write to it), served by a real ``devserver run`` with reload."""
    root = tmp_path / "demo"
    shutil.copytree(REPO / "demo", root, ignore=shutil.ignore_patterns(".devserver", "__pycache__"))
    server = start_server(root, timeout=60)  # generous: CI machines run browsers side by side
    yield root, server
    server.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    yield page
    context.close()
    assert errors == [], "the dashboard raised or opened a dialog"


def shot(page: Any, name: str, *, full: bool = True) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full)
    return path


def row(page: Any, route_id: str) -> Any:
    return page.locator(f'tbody.route[data-id="{route_id}"]')


def rgb(css: str) -> tuple[int, ...]:
    """``rgb(200, 16, 46)`` -> ``(200, 16, 46)``."""
    return tuple(int(float(c)) for c in css[css.index("(") + 1:css.index(")")].split(",")[:3])


def post_line(root: Path) -> int:
    return (root / "app/api/users/$id.py").read_text().splitlines().index("async def post(req):") + 1


def json_patterns(server: Server) -> list[str]:
    with urllib.request.urlopen(server.url + "/__routes.json") as resp:
        return [r["pattern"] for r in json.load(resp)["routes"]]


def patterns(page: Any) -> list[str]:
    return [p.replace("\u200b", "") for p in page.locator("tbody.route .pattern").all_text_contents()]


def test_the_table_shows_the_demos_routes_in_precedence_order(demo: tuple[Path, Server], page: Any) -> None:
    root, server = demo
    page.goto(server.url + "/__routes")
    page.wait_for_selector("#conn[data-state=live]")
    # The order `devserver routes` prints, which the demo's four routes follow among any others.
    done = subprocess.run([sys.executable, "-m", "devserver", "routes", str(root), "--json"],
                          capture_output=True, text=True, timeout=60, check=True)
    cli = json.loads(done.stdout)["routes"]
    shown = patterns(page)
    assert shown == [r["pattern"] for r in cli]
    assert [p for p in shown if p in DEMO_ROUTES] == DEMO_ROUTES
    ids = page.locator("tbody.route").evaluate_all("els => els.map(e => e.dataset.id)")
    assert ids == [r["id"] for r in cli]
    assert page.locator("tbody.route .c-rank").all_text_contents() == [str(i) for i in range(1, len(cli) + 1)]
    users = row(page, "users/$id")
    assert users.locator(".method").all_text_contents() == ["GET", "POST"]
    assert users.locator(".params").inner_text().split() == ["id", "dynamic"]
    assert users.locator(".badge").inner_text() == "OK"
    api_link = users.locator("a.f").first
    assert api_link.inner_text() == "app/api/users/$id.py:6"
    assert api_link.get_attribute("href") == f"vscode://file{root.resolve().as_posix()}/app/api/users/%24id.py:6"
    post = users.locator("a.method", has_text="POST")
    assert post.get_attribute("href").endswith(f"/app/api/users/%24id.py:{post_line(root)}")
    chip = page.locator("#status-filter .chip[aria-pressed=true]")
    assert chip.inner_text().split() == ["All", str(len(cli))]
    shot(page, "dashboard-demo.png")
    if os.environ.get("DEVSERVER_UPDATE_SCREENSHOT"):
        page.locator("#t-accept-preset").select_option(label="JSON (application/json)")
        page.locator("#t-path").fill("/posts/2")
        page.locator("#t-path").press("Enter")
        page.wait_for_selector(".cand.o-winner")
        page.locator("#t-send").click()
        page.wait_for_selector(".resp-head .code")
        page.mouse.move(0, 0)
        # The README's image: a project path rather than pytest's temporary folder.
        page.locator(".project-root bdi").evaluate("el => { el.textContent = '~/code/demo'; }")
        (REPO / "docs/images").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(REPO / "docs/images/dashboard.png"), full_page=True)


def test_typing_a_path_shows_the_winner_and_why_the_others_lost(demo: tuple[Path, Server],
                                                                page: Any) -> None:
    _, server = demo
    page.goto(server.url + "/__routes")
    page.locator("#t-path").press_sequentially("/docs/forms/x", delay=10)
    expect(page.locator(".cand.o-winner")).to_have_attribute("data-route", "docs/[...path]")
    expect(page.locator(".v-summary")).to_have_text("docs/[...path] answers /docs/forms/x")
    assert page.locator(".params.values").inner_text().split() == ["path", "=", '["forms","x"]', "catch-all"]
    reasons = dict(zip(page.locator(".cand .c-pat").all_text_contents(),
                       page.locator(".cand .reason").all_text_contents(), strict=True))
    assert reasons == {
        "/": "path has 3 extra segments: /docs/forms/x",
        "/docs/[...path]": "matches",
        "/posts/[[page]]": "static posts ≠ docs",
        "/users/$id": "static users ≠ docs",
    }
    expect(page.locator(".rep-kind")).to_have_text("HTML page")
    assert "path=%2Fdocs%2Fforms%2Fx" in page.url  # the address bar can be shared
    assert "is-winner" in (row(page, "docs/[...path]").get_attribute("class") or "")

    # Enter submits; JSON in Accept changes the representation; POST where only GET is exported: 405.
    page.locator("#t-accept-preset").select_option(label="JSON (application/json)")
    page.locator("#t-method").select_option("POST")
    page.locator("#t-path").fill("/posts/2")
    page.locator("#t-path").press("Enter")
    expect(page.locator(".verdict .code")).to_have_text("405")
    winner = page.locator(".cand.o-wrong-method")
    expect(winner.locator(".reason")).to_have_text("method POST not exported: 405")
    expect(page.locator(".rep-kind")).to_have_text("405 error")
    shot(page, "dashboard-tester-405.png")

    # The shared link restores the tester and runs it.
    shared = page.url
    assert "method=POST" in shared and "accept=application%2Fjson" in shared
    page.goto(server.url + "/__routes?path=/posts&accept=application/json")
    page.wait_for_selector(".cand.o-winner")
    expect(page.locator(".cand.o-winner .c-pat")).to_have_text("/posts/[[page]]")
    expect(page.locator(".rep-kind")).to_have_text("JSON")
    assert page.locator("#t-accept-preset").input_value() == "application/json"
    page.goto(shared)
    expect(page.locator(".verdict .code")).to_have_text("405")
    assert page.locator("#t-method").input_value() == "POST"


def test_a_404_suggests_and_every_route_says_why(demo: tuple[Path, Server], page: Any) -> None:
    _, server = demo
    page.goto(server.url + "/__routes?path=/post")
    page.wait_for_selector(".verdict .code.s4xx")
    expect(page.locator(".v-summary")).to_have_text("no route matches /post")
    assert page.locator(".cand.o-winner").count() == 0
    assert page.locator(".cand .reason").all_text_contents() == [
        "path has one extra segment: /post", "static docs ≠ post", "static posts ≠ post",
        "static users ≠ post"]
    assert page.locator("tbody.route.is-winner").count() == 0


def test_a_new_route_file_appears_without_reloading_the_page(demo: tuple[Path, Server], page: Any) -> None:
    root, server = demo
    page.goto(server.url + "/__routes")
    page.wait_for_selector("#conn[data-state=live]")
    page.evaluate("window.__sameDocument = true")
    (root / "app/api/hello.py").write_text("async def get(req):\n    return {'json': {'hi': 1}}\n")
    added = row(page, "hello")
    added.wait_for(timeout=WAIT)
    assert "is-added" in (added.get_attribute("class") or "")
    assert added.locator(".mark").text_content() == "added"
    assert patterns(page) == json_patterns(server)
    assert [p for p in patterns(page) if p in (*DEMO_ROUTES, "/hello")] == [
        "/", "/docs/[...path]", "/hello", "/posts/[[page]]", "/users/$id"]
    banner = page.locator("#banner")
    banner.wait_for(state="visible")
    assert "app/api/hello.py" in banner.inner_text()
    assert page.evaluate("window.__sameDocument") is True
    shot(page, "dashboard-added.png")

    (root / "app/api/hello.py").unlink()
    page.wait_for_selector('tbody.route.is-removed[data-id="hello"]', timeout=WAIT)
    assert row(page, "hello").locator(".mark").text_content() == "removed"
    row(page, "hello").wait_for(state="detached", timeout=WAIT)
    assert patterns(page) == json_patterns(server) and "/hello" not in patterns(page)
    assert page.evaluate("window.__sameDocument") is True


def test_a_broken_module_turns_its_row_red_with_the_error(demo: tuple[Path, Server], page: Any) -> None:
    root, server = demo
    page.goto(server.url + "/__routes?path=/users/1")
    page.wait_for_selector("#conn[data-state=live]")
    module = root / "app/api/users/$id.py"
    source = module.read_text()
    line = post_line(root)
    module.write_text(source.replace("async def post(req):", "async def post(req)"))
    broken = page.locator('tbody.route.st-broken[data-id="users/$id"]')
    broken.wait_for(timeout=WAIT)
    assert broken.locator(".badge").inner_text() == "Broken"
    message = broken.locator(".msg-error").inner_text()
    assert "SyntaxError" in message and f"app/api/users/$id.py:{line}" in message
    link = broken.locator(".msg-error a.at").get_attribute("href")
    assert link.endswith(f"/app/api/users/%24id.py:{line}")
    color = broken.locator(".badge").evaluate("e => getComputedStyle(e).color")
    red, green, blue = rgb(color)
    assert red > 150 and green < 80 and blue < 90, color
    assert "!" in page.locator("#banner .b-icon").inner_text()
    assert "SyntaxError" in page.locator("#banner .b-errors").inner_text()
    # The tester re-runs on every reload: the route now answers 500.
    expect(page.locator(".verdict .code")).to_have_text("500", timeout=WAIT)
    shot(page, "dashboard-broken.png")

    module.write_text(source)
    page.wait_for_selector('tbody.route.st-ok[data-id="users/$id"]', timeout=WAIT)
    assert row(page, "users/$id").locator(".msg-error").count() == 0


def test_after_a_restart_the_dashboard_reconnects_without_reloading(demo: tuple[Path, Server],
                                                                     page: Any) -> None:
    root, server = demo
    page.goto(server.url + "/__routes")
    page.wait_for_selector("#conn[data-state=live]")
    page.evaluate("""() => {
        window.__sameDocument = true;
        window.__states = [];
        const conn = document.getElementById("conn");
        new MutationObserver(() => window.__states.push(conn.dataset.state))
            .observe(conn, {attributes: true, attributeFilter: ["data-state"]});
    }""")
    (root / ".env").write_text("GREETING=hi\n")  # cannot be applied in place: the worker restarts
    expect(page.locator("#banner .b-title strong")).to_have_text("Restarted", timeout=WAIT)
    deadline = time.monotonic() + 30
    while page.evaluate("window.__states.join(' ')").find("reconnecting live") < 0:
        assert time.monotonic() < deadline, page.evaluate("window.__states")
        page.wait_for_timeout(100)
    (root / "app/api/after.py").write_text("def get(req):\n    return {'json': {}}\n")
    row(page, "after").wait_for(timeout=WAIT)
    assert page.evaluate("window.__sameDocument") is True


def test_send_shows_the_real_response(demo: tuple[Path, Server], page: Any) -> None:
    _, server = demo
    page.goto(server.url + "/__routes?path=/users/1&accept=application/json")
    page.locator("#t-send").click()
    page.wait_for_selector(".resp-head .code")
    assert page.locator(".resp-head .code").inner_text() == "200"
    assert page.locator(".resp-head .phrase").inner_text() == "OK"
    body = page.locator(".tabpanel pre.json").inner_text()
    assert json.loads(body)["user"]["name"] == "Ada Lovelace"
    assert '\n  "user": {\n    "id": "1",' in body  # pretty-printed
    page.locator(".tab", has_text="Headers").click()
    headers = page.locator(".headers").inner_text()
    assert "content-type\tapplication/json; charset=utf-8" in headers and "vary\tAccept" in headers
    shot(page, "dashboard-send-json.png")

    # As a browser: the page, as a sandboxed preview and as source.
    page.locator("#t-accept-preset").select_option(label="Browser (text/html…)")
    page.locator("#t-path").press("Control+Enter")
    page.wait_for_selector("iframe.preview")
    frame = page.locator("iframe.preview")
    assert frame.get_attribute("sandbox") == ""
    assert "Ada Lovelace" in page.frame_locator("iframe.preview").locator("h1").inner_text()
    page.locator(".tab", has_text="Source").click()
    assert page.locator(".tabpanel pre").inner_text().strip().lower().startswith("<!doctype html>")
    shot(page, "dashboard-send-html.png")

    # A POST from the tester: the handler's redirect is followed, and says so.
    page.locator("#t-method").select_option("POST")
    page.locator("#t-body").fill("name=Ada King")
    page.locator("#t-send").click()
    page.wait_for_selector(".response .note")
    assert "/users/1" in page.locator(".response .note").inner_text()
    assert page.locator(".resp-head .code").inner_text() == "200"

    page.locator("#t-method").select_option("GET")
    page.locator("#t-path").fill("/nope")
    page.locator("#t-send").click()
    expect(page.locator(".resp-head .code")).to_have_text("404")


def test_route_file_names_render_as_text(demo: tuple[Path, Server], page: Any) -> None:
    root, server = demo
    name = "<img src=x onerror=alert(1)>"
    (root / f"app/api/{name}.py").write_text("def get(req):\n    return {'json': {'x': '<script>'}}\n")
    (root / "app/api/broken.py").write_text(f"raise RuntimeError({name!r})\n")
    page.goto(server.url + "/__routes")
    hostile = row(page, name)
    hostile.wait_for(timeout=WAIT)
    assert hostile.locator(".pattern").inner_text() == "/" + name
    assert name in row(page, "broken").locator(".msg-error").inner_text()
    assert page.locator("main img").count() == 0
    page.locator("#t-path").fill("/" + name)
    page.locator("#t-path").press("Enter")
    page.wait_for_selector(".cand.o-winner")
    page.locator("#t-send").click()
    page.wait_for_selector(".resp-head .code")
    assert page.locator("main img").count() == 0


def test_filter_and_keyboard(demo: tuple[Path, Server], page: Any) -> None:
    root, server = demo
    (root / "app/api/shop").mkdir()
    (root / "app/api/shop/book-[id].py").write_text("def get(req):\n    return {'json': {}}\n")
    page.goto(server.url + "/__routes")
    page.locator("body").press("/")
    assert page.evaluate("document.activeElement.id") == "filter"
    page.keyboard.type("users")
    assert "/users/$id" in patterns(page) and all("users" in p for p in patterns(page))
    assert "q=users" in page.url
    page.keyboard.press("Escape")
    assert patterns(page) == json_patterns(server)
    page.locator("#status-filter .chip[data-status=warning]").click()
    assert patterns(page) == ["/shop/book-[id]"]
    assert "is matched as static text" in row(page, "shop/book-[id]").locator(".msg-warning").inner_text()
    page.locator("#filter").fill("nothing-like-this")
    assert page.locator("#empty").inner_text().startswith("No route matches this filter")
    page.locator("#empty button").click()
    assert patterns(page) == json_patterns(server)

    # Labels name every control, and Tab reaches the tester in a sensible order.
    for control in ("t-method", "t-path", "t-accept-preset", "filter"):
        assert page.locator(f"label[for={control}]").count() == 1, control
    page.locator("#t-method").focus()
    order = []
    for _ in range(4):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id"))
    assert order == ["t-path", "t-accept-preset", "t-explain", "t-send"]
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


@pytest.mark.parametrize(("width", "scheme"), [(400, "light"), (400, "dark"), (1280, "dark")])
def test_narrow_windows_and_dark_mode(demo: tuple[Path, Server], browser: Any, width: int,
                                     scheme: str) -> None:
    _, server = demo
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    try:
        page.goto(server.url + "/__routes?path=/users/1")
        page.wait_for_selector(".cand.o-winner")
        overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, f"{overflow}px of horizontal scroll at {width}px"
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert (sum(rgb(background)) < 150) == (scheme == "dark"), background
        assert patterns(page) == json_patterns(server)
        shot(page, f"dashboard-{width}-{scheme}.png")
    finally:
        context.close()
