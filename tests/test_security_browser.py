"""Hostile route, file and parameter names in real Chromium (issue 9, item 5).

The tree of tests/test_security.py, served by a real ``devserver run``: the dashboard, the dev
404 page (and the URL tester its link opens), the 500 page of a module whose name and error are
markup, and a page showing a hostile parameter value. None of them may create an element or an
event-handler attribute from a name, open a dialog or raise in the page.

Its own module: the browser fixture leaves an event loop marked running in its thread, so async
tests must not share a module with it (see tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from .conftest import Server, require_chromium, start_server, write_app
from .test_security import APP, IMG, QUOTES, SCRIPT_DIR, SCRIPT_FILE

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root: Path = write_app(tmp_path_factory.mktemp("security-browser") / "project", APP)
    running = start_server(root, timeout=60)
    yield running
    running.stop()


HOSTILE_ATTRS = "[onerror], [onload], img[src='x']"


def _no_markup(page: Any) -> None:
    assert page.locator(HOSTILE_ATTRS).count() == 0, page.content()[:2000]



def test_hostile_names_are_text_in_chromium(server: Server, browser: Any) -> None:
    require_chromium()
    context = browser.new_context()
    page = context.new_page()
    events: list[str] = []
    page.on("dialog", lambda dialog: (events.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda exc: events.append(str(exc)))
    try:
        page.goto(server.url + "/__routes")
        page.wait_for_selector(f'tbody.route[data-id="{IMG}"]', timeout=20_000)
        text = page.locator("main").inner_text()
        for name in (IMG, f"{SCRIPT_DIR}/{SCRIPT_FILE}", QUOTES, "<img src=x onerror=alert(4)>"):
            assert name in text, name
        _no_markup(page)

        # the 404 page of a path made of markup, its "did you mean" link, and the tester it opens
        page.goto(server.url + "/" + quote(IMG[:-3]))
        assert IMG[:-3] in page.locator("body").inner_text()
        _no_markup(page)
        links = page.locator("a[href]").evaluate_all("els => els.map(e => e.getAttribute('href'))")
        assert all(h.startswith("/") and not h.startswith(("//", "/\\")) for h in links), links
        page.goto(server.url + "/%5Cevil.exampl")
        links = page.locator("a[href]").evaluate_all("els => els.map(e => e.getAttribute('href'))")
        assert "/%5Cevil.example" in links, links
        assert all(h.startswith("/") and not h.startswith(("//", "/\\")) for h in links), links
        page.locator("a", has_text="Open the route table").click()
        page.wait_for_selector(".cand", timeout=20_000)
        _no_markup(page)

        # the 500 page of a module whose name and error are markup
        response = page.goto(server.url + "/" + quote(QUOTES))
        assert response is not None and response.status == 500
        assert "<img src=x onerror=alert(4)>" in page.locator("body").inner_text()
        _no_markup(page)

        # a page showing a hostile parameter value
        page.goto(server.url + "/p/" + quote("<img src=x onerror=alert(5)></script>", safe=""))
        assert page.locator("#v").inner_text() == "<img src=x onerror=alert(5)></script>"
        _no_markup(page)
    finally:
        context.close()
    assert events == []


