"""The demo in real Chromium: pages, the hydrated store, the rename form, the flash message,
the JSON refetch, and how it looks (screenshots in test-artifacts/, also at a phone's width).

The demo is copied to a temp folder and served by a real ``devserver run``: the tests rename
users, and the repository's demo is never written to. With DEVSERVER_UPDATE_SCREENSHOT=1 the
user page screenshot is also written to docs/images/page.png for the README.

Chromium is Debian's /usr/bin/chromium, launched by the session ``browser`` fixture in conftest.py;
without it these tests fail when CI is set and are skipped, saying why, everywhere else.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import ARTIFACTS, REPO, Server, start_server

pytestmark = pytest.mark.browser

STORE_JS = "JSON.parse(document.getElementById('devserver-store').textContent)"
HOSTILE_NAME = "</script><script>alert('x')</script> <!-- \u2028\u2029 & \"q\" 'a' <b>bold</b>"
NARROW = {"width": 400, "height": 860}
WIDE = {"width": 1280, "height": 860}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("demo-browser") / "demo"
    shutil.copytree(REPO / "demo", root, ignore=shutil.ignore_patterns(".devserver", "__pycache__"))
    server = start_server(root, "--no-reload")
    yield server
    server.stop()


@pytest.fixture
def errors() -> list[str]:
    return []


def open_page(browser: Any, errors: list[str], viewport: dict[str, int], scheme: str = "light") -> Any:
    context = browser.new_context(viewport=viewport, color_scheme=scheme)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: _console(page, msg, errors))
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return page


def _console(page: Any, msg: Any, errors: list[str]) -> None:
    if msg.type != "error":
        return
    # A page answered with 404 or 422 on purpose is logged by Chromium as a failed load of the
    # document itself; any other failed load (a missing stylesheet, script or icon) is an error.
    if msg.text.startswith("Failed to load resource") and msg.location.get("url") == page.url:
        return
    errors.append(f"console: {msg.text} ({msg.location.get('url')})")


@pytest.fixture
def page(browser: Any, errors: list[str]) -> Iterator[Any]:
    page = open_page(browser, errors, WIDE)
    yield page
    page.context.close()
    assert errors == [], "the demo raised, logged an error or opened a dialog"


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def get_json(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def no_horizontal_scroll(page: Any) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{overflow}px of horizontal scroll"


# --- pages and the store ----------------------------------------------------------------------------


def test_home_page_store_is_the_apis_json_under_preflight(demo: Server, page: Any) -> None:
    response = page.goto(demo.url + "/")
    assert response.status == 200
    store = page.evaluate(STORE_JS)
    api = get_json(demo.url + "/")
    assert store == {"site": store["site"], **api}
    assert store["site"]["name"] == "Atlas"
    assert page.evaluate("window.atlasStore") == store  # what public/app.js read
    assert page.locator("h1").inner_text() == "Welcome to Atlas"
    assert page.locator(".people li").count() == len(api["users"])
    shot(page, "demo-home.png")


def test_user_page_store_and_links(demo: Server, page: Any) -> None:
    page.goto(demo.url + "/")
    page.get_by_role("link", name="Alan Turing").click()
    page.wait_for_url(demo.url + "/users/3")
    store = page.evaluate(STORE_JS)
    assert store["user"] == get_json(demo.url + "/users/3")["user"]
    assert page.get_by_role("heading", level=1).inner_text() == "Alan Turing"
    assert page.locator('nav a[aria-current="page"]').count() == 0
    shot(page, "demo-user.png")


def test_rename_redirects_and_shows_the_flash_message_once(demo: Server, page: Any) -> None:
    page.goto(demo.url + "/users/2")
    page.get_by_label("Name").fill("Grace Brewster Hopper")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Save").click()
    assert posted.value.status == 303
    assert posted.value.headers["location"] == "/users/2"
    page.wait_for_url(demo.url + "/users/2")
    status = page.get_by_role("status")
    assert status.inner_text() == "Saved. This user is now called Grace Brewster Hopper."
    assert page.get_by_role("heading", level=1).inner_text() == "Grace Brewster Hopper"
    store = page.evaluate(STORE_JS)
    assert store["flash"] == "Saved. This user is now called Grace Brewster Hopper."
    assert store["user"]["name"] == "Grace Brewster Hopper"
    shot(page, "demo-user-flash.png")
    if os.environ.get("DEVSERVER_UPDATE_SCREENSHOT"):
        (REPO / "docs/images").mkdir(parents=True, exist_ok=True)
        page.locator("body").screenshot(path=str(REPO / "docs/images/page.png"))  # no blank tail
    page.reload()
    assert page.get_by_role("status").count() == 0  # the flash was taken out of the session
    assert page.evaluate(STORE_JS)["flash"] is None


def test_an_empty_name_re_renders_the_form_with_an_error(demo: Server, page: Any) -> None:
    page.goto(demo.url + "/users/1")
    page.get_by_label("Name").fill("   ")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Save").click()
    assert posted.value.status == 422
    page.wait_for_load_state()
    assert page.get_by_role("alert").inner_text() == "A name is required."
    assert page.evaluate(STORE_JS)["error"] == "A name is required."
    shot(page, "demo-user-error.png")


def test_refetch_button_asks_for_json_at_the_same_url(demo: Server, page: Any) -> None:
    page.goto(demo.url + "/posts/2")
    with page.expect_request(lambda r: r.resource_type == "fetch") as fetched:
        page.get_by_role("button", name="Refetch this page's JSON").click()
    assert fetched.value.url == demo.url + "/posts/2"
    assert fetched.value.headers["accept"] == "application/json"
    live = page.locator("#live")
    live.locator("xpath=self::*[@data-status='200']").wait_for()
    text = live.inner_text()
    assert "GET /posts/2 as JSON" in text and "200" in text
    for key in ("posts", "page", "pages"):
        assert key in text
    shot(page, "demo-refetch.png")


def rename(url: str, user_id: str, name: str) -> None:
    data = urllib.parse.urlencode({"name": name}).encode()
    urllib.request.urlopen(urllib.request.Request(f"{url}/users/{user_id}", data=data), timeout=10).close()


def test_hostile_values_from_the_form_come_back_exactly(demo: Server, page: Any, errors: list[str]) -> None:
    try:
        hostile_user_page(demo, page, errors)
    finally:
        rename(demo.url, "3", "Alan Turing")  # the other tests see the demo as it ships


def hostile_user_page(demo: Server, page: Any, errors: list[str]) -> None:
    page.goto(demo.url + "/users/3")
    page.get_by_label("Name").fill(HOSTILE_NAME)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(demo.url + "/users/3")
    store = page.evaluate(STORE_JS)
    assert store["user"]["name"] == HOSTILE_NAME
    assert page.get_by_role("heading", level=1).inner_text() == HOSTILE_NAME  # shown as text
    assert page.evaluate("document.querySelectorAll('#devserver-store').length") == 1
    assert page.evaluate("document.querySelectorAll('b').length") == 0
    sources = page.evaluate("[...document.scripts].map(s => s.id || s.src.replace(location.origin, ''))")
    assert sources == ["/_public/app.js", "devserver-store"]
    assert errors == []  # no alert() ran
    shot(page, "demo-hostile.png")


def test_an_unknown_user_is_the_user_page_with_a_404(demo: Server, page: Any) -> None:
    response = page.goto(demo.url + "/users/99")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "No such user"
    assert "There is no user 99." in page.locator("main").inner_text()
    assert page.evaluate(STORE_JS)["error"] == "There is no user 99."
    shot(page, "demo-user-404.png")


def test_posts_pages_and_a_missing_page(demo: Server, page: Any) -> None:
    page.goto(demo.url + "/posts")
    assert page.locator("ol.posts > li").count() == 3
    assert page.locator('.pager a[aria-current="page"]').inner_text() == "1"
    page.get_by_role("link", name="3", exact=True).click()
    page.wait_for_url(demo.url + "/posts/3")
    assert page.evaluate(STORE_JS)["page"] == 3
    shot(page, "demo-posts.png")
    response = page.goto(demo.url + "/posts/9")
    assert response.status == 404
    shot(page, "demo-posts-404.png")
    assert "There is no page 9." in page.locator("main").inner_text()
    assert page.locator(".pager a").count() == 3  # the way back is still there


def test_docs_render_files_and_a_missing_doc_is_404(demo: Server, page: Any) -> None:
    page.goto(demo.url + "/docs/routes")
    assert page.get_by_role("heading", level=1).inner_text() == "Routes"
    assert page.locator('.toc a[aria-current="page"]').inner_text() == "Routes"
    page.get_by_role("link", name="Forms and sessions", exact=True).click()
    page.wait_for_url(demo.url + "/docs/forms")
    assert page.evaluate(STORE_JS)["path"] == "forms"
    shot(page, "demo-docs.png")
    response = page.goto(demo.url + "/docs/nope")
    assert response.status == 404


def test_an_unknown_url_gets_devservers_404_with_the_routing_explanation(demo: Server, page: Any) -> None:
    response = page.goto(demo.url + "/user/1")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "no route matches /user/1"
    assert "/users/$id" in page.locator("table").inner_text()
    page.get_by_role("link", name="Open the route table and URL tester").click()
    page.wait_for_url(lambda url: "/__routes?path=%2Fuser%2F1" in url or "/__routes?path=/user/1" in url)
    shot(page, "demo-404-routes.png")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["/", "/users/1", "/posts", "/docs/pages", "/nowhere"])
def test_narrow_window(demo: Server, browser: Any, errors: list[str], path: str, scheme: str) -> None:
    page = open_page(browser, errors, NARROW, scheme)
    try:
        page.goto(demo.url + path)
        no_horizontal_scroll(page)
        name = "root" if path == "/" else path.strip("/").replace("/", "-")
        shot(page, f"demo-narrow-{name}-{scheme}.png")
    finally:
        page.context.close()
    assert errors == []


def test_dark_mode(demo: Server, browser: Any, errors: list[str]) -> None:
    page = open_page(browser, errors, WIDE, "dark")
    try:
        page.goto(demo.url + "/users/1")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background != "rgb(245, 246, 248)"  # the dark palette, not the light one
        shot(page, "demo-user-dark.png")
    finally:
        page.context.close()
    assert errors == []
