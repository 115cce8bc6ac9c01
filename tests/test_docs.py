"""Every code example in README.md and docs/ is exercised (issue 8).

- A ```python block whose first line is ``# app/...`` (or an ```html block whose first line is
  ``<!-- app/... -->``) is a file of an example app: the files of one document are written into a
  temp app, which must load with no broken module and no route error, and every route without
  parameters must answer HTML and JSON without a 5xx.
- Any other ```python block runs as it is, from the repository folder.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from devserver import create_app
from devserver.config import Config
from devserver.state import build_state

from .conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
FILE_HEADER = re.compile(r"^(?:# |<!-- )(app/\S+?)(?: -->)?$")


def blocks(doc: Path) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(doc.read_text())]


def app_files(doc: Path) -> dict[str, str]:
    files = {}
    for lang, code in blocks(doc):
        first = code.split("\n", 1)[0]
        header = FILE_HEADER.match(first)
        if lang in ("python", "html") and header:
            files[header.group(1)] = code
    return files


def snippets(doc: Path) -> list[str]:
    return [code for lang, code in blocks(doc)
            if lang == "python" and not FILE_HEADER.match(code.split("\n", 1)[0])]


def test_the_docs_have_examples() -> None:
    assert sum(len(snippets(d)) + len(app_files(d)) for d in DOCS) >= 12


@pytest.mark.parametrize("doc", [d for d in DOCS if snippets(d)], ids=lambda d: d.name)
def test_python_snippets_run(doc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    for code in snippets(doc):
        exec(compile(code, f"{doc.name}:snippet", "exec"), {"__name__": "docs_example"})


@pytest.mark.asyncio
@pytest.mark.parametrize("doc", [d for d in DOCS if app_files(d)], ids=lambda d: d.name)
async def test_example_apps_load_and_answer(doc: Path, tmp_path: Path) -> None:
    root = tmp_path / doc.stem
    for rel, code in app_files(doc).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    state = build_state(Config(root, reload=False))
    broken = [m.error.message for m in state.modules.values() if m.error is not None]
    assert broken == []
    assert [p.message for p in state.table.problems if p.severity == "error"] == []
    client = TestClient(TestServer(create_app(Config(root, reload=False))))
    await client.start_server()
    try:
        for route in state.table.routes:
            if route.params:
                continue
            for accept in ("text/html", "application/json"):
                response = await client.get(route.pattern, headers={"Accept": accept})
                assert response.status < 500, (route.pattern, accept, await response.text())
    finally:
        await client.close()
