"""A page open in real Chromium changes when its files change, without being touched (issue 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import ARTIFACTS, start_server, write_app

pytestmark = pytest.mark.browser

FILES = {
    "app/api/note.py": "async def get(req):\n    return {'json': {'text': 'before'}}\n",
    "app/pages/note.html": ('<html><head><link rel="stylesheet" href="/_public/note.css"></head>'
                            '<body><p id="text">{{ store.text }}</p></body></html>\n'),
    "public/note.css": "#text { color: rgb(0, 0, 0); }\n",
}


def test_open_page_follows_edits_to_api_template_and_css(browser: Any, tmp_path: Path) -> None:
    root = write_app(tmp_path, FILES)
    server = start_server(root)
    page = browser.new_page()
    try:
        page.goto(server.url + "/note")
        assert page.text_content("#text") == "before"
        page.evaluate("window.__marker = 'same document'")

        (root / "public/note.css").write_text("#text { color: rgb(200, 0, 0); }\n")
        page.wait_for_function(
            "getComputedStyle(document.getElementById('text')).color === 'rgb(200, 0, 0)'",
            timeout=8000)
        assert page.evaluate("window.__marker") == "same document"  # swapped, not reloaded

        (root / "app/api/note.py").write_text("async def get(req):\n    return {'json': {'text': 'after'}}\n")
        page.wait_for_function("document.getElementById('text').textContent === 'after'", timeout=8000)

        (root / "app/pages/note.html").write_text(FILES["app/pages/note.html"].replace("<p", "<p class='t'"))
        page.wait_for_selector("p.t", timeout=8000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "reload-browser.png"))
    finally:
        page.close()
        server.stop()


def test_page_reconnects_and_reloads_after_a_restart(browser: Any, tmp_path: Path) -> None:
    root = write_app(tmp_path, FILES)
    server = start_server(root)
    page = browser.new_page()
    try:
        page.goto(server.url + "/note")
        page.evaluate("window.__marker = 1")
        (root / ".env").write_text("X=1\n")
        page.wait_for_function("window.__marker === undefined", timeout=15000)
        assert page.text_content("#text") == "before"
    finally:
        page.close()
        server.stop()
