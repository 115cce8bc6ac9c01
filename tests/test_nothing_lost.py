"""devserver writes nothing in a user's project but ``.devserver/`` (issue 9, item 6).

A project with a package ``app/__init__.py``, helpers inside and outside ``app/``, relative
imports, a symlink, a read-only file, pages, ``public/`` and a ``pyproject.toml`` is hashed, then
put through a session: ``devserver routes``/``match``; ``devserver run`` with requests of every
kind and reloads of every kind (in place, a template, a stylesheet, a route added and removed, a
page renamed and back, an edit undone, a worker restart); ``--no-reload``; and
``create_app(dev=False)`` in process. Afterwards every path outside ``.devserver/`` is byte for
byte what it was (same files, folders, modes and link targets: no ``__pycache__``), and
``.devserver/`` holds only the session secret.

Python writes ``__pycache__`` next to imported modules unless told otherwise; this environment
may set ``PYTHONDONTWRITEBYTECODE``, so every process here runs with it unset.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from devserver import create_app

from .conftest import Server, start_server, write_app

BYTECODE_ON = {"PYTHONDONTWRITEBYTECODE": ""}  # empty: Python writes bytecode as it normally does

APP = {
    "app/__init__.py": "",
    "app/lib/__init__.py": "",
    "app/lib/util.py": "GREETING = 'hello'\n",
    "app/lib/link_target.py": "VALUE = 7\n",
    "helper.py": "def double(x):\n    return 2 * x\n",
    "app/api/index.py": """
        import helper
        from app.lib.util import GREETING
        from ..lib import link_target

        async def get(req):
            return {"json": {"greeting": GREETING, "n": helper.double(link_target.VALUE)}}
        """,
    "app/api/users/[id].py": """
        async def get(req):
            return {"json": {"id": req.params["id"], "session": req.session}}

        async def post(req):
            body = req.body if isinstance(req.body, dict) else {}
            names = sorted(str(k) for k in body)
            return {"json": {"fields": names}, "session": {"seen": names}}
        """,
    "app/api/boom.py": "async def get(req):\n    raise RuntimeError('boom')\n",
    "app/api/broken.py": "async def get(req)\n",
    "app/preflight.py": "async def preflight(req):\n    return {'site': 'kept'}\n",
    "app/pages/_layout.html": "<html><body>{% block main %}{% endblock %}</body></html>\n",
    "app/pages/index.html": '{% extends "_layout.html" %}{% block main %}{{ store.greeting }}'
                            '{% endblock %}\n',
    "app/pages/users/[id].html": "<html><body>{{ store.id }}</body></html>\n",
    "app/pages/about.html": "<html><body>about</body></html>\n",
    "app/pages/404.html": "<html><body>not here: {{ error.message }}</body></html>\n",
    "public/styles.css": "body { color: black; }\n",
    "public/app.js": "console.log('hi');\n",
    "pyproject.toml": "[project]\nname = 'kept'\n",
    "README.md": "# a user's project\n",
    "data/notes.txt": "keep me\n",
}


def snapshot(root: Path) -> dict[str, tuple[str, int, str]]:
    """Every path under ``root`` but ``.devserver/``: kind, mode and content hash or link target."""
    found: dict[str, tuple[str, int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d != ".devserver"]
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                found[rel] = ("link", 0, os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[rel] = ("dir", stat.S_IMODE(info.st_mode), "")
            else:
                digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                found[rel] = ("file", stat.S_IMODE(info.st_mode), digest)
    return found


def request(url: str, method: str = "GET", body: bytes | None = None,
            headers: dict[str, str] | None = None) -> int:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        exc.read()
        return int(exc.code)


REQUESTS: list[tuple[str, str, bytes | None, dict[str, str], int]] = [
    ("GET", "/", None, {"Accept": "text/html"}, 200),
    ("GET", "/", None, {"Accept": "application/json"}, 200),
    ("GET", "/users/1", None, {"Accept": "text/html"}, 200),
    ("POST", "/users/1", b'{"a": 1}', {"Content-Type": "application/json",
                                       "Accept": "application/json"}, 200),
    ("POST", "/users/1", b"a=1&b=2", {"Content-Type": "application/x-www-form-urlencoded",
                                     "Accept": "application/json"}, 200),
    ("POST", "/users/1", b'--B\r\nContent-Disposition: form-data; name="f"; filename="up.txt"\r\n\r\n'
                         b"data\r\n--B--\r\n",
     {"Content-Type": "multipart/form-data; boundary=B", "Accept": "application/json"}, 200),
    ("GET", "/boom", None, {}, 500),
    ("GET", "/broken", None, {}, 500),
    ("GET", "/nowhere", None, {}, 404),
    ("GET", "/about", None, {}, 200),
    ("GET", "/_public/styles.css", None, {}, 200),
    ("GET", "/_public/../pyproject.toml", None, {}, 404),
]
DEV_ONLY = [("GET", "/__routes", None, {}, 200), ("GET", "/__routes.json", None, {}, 200),
            ("GET", "/__routes/match?path=/users/1", None, {}, 200),
            ("GET", "/__devserver/api/journal", None, {}, 200),
            ("POST", "/__devserver/api/controls", b'{"route": "users/[id]", "delay_ms": 1, "times": 1}',
             {"Content-Type": "application/json"}, 201),
            ("POST", "/__devserver/api/reset", None, {}, 200)]


def serve_all(url: str, items: list[tuple[str, str, bytes | None, dict[str, str], int]]) -> int:
    for method, path, body, headers, expected in items:
        assert request(url + path, method, body, headers) == expected, (method, path)
    return len(items)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = write_app(tmp_path / "project", APP)
    (root / "app/lib/alias.py").symlink_to("link_target.py")
    (root / "data/notes.txt").chmod(0o444)
    return root


def _wait_for(server: Server, text: str, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while server.output.count(text) < count:
        assert time.monotonic() < deadline, f"no {count}x {text!r} in:\n{server.output[-2000:]}"
        time.sleep(0.05)


def _reloads(server: Server, root: Path, before: dict[str, tuple[str, int, str]]) -> int:
    """Every kind of reload, each leaving the files as they were; returns how many were made."""
    done = 0

    def step(action: Any, text: str = "reload:") -> None:
        nonlocal done
        seen = server.output.count(text)
        action()
        _wait_for(server, text, seen + 1)
        done += 1

    def touch(rel: str) -> Any:  # saved again as it is, as an editor does
        return lambda: (root / rel).write_bytes((root / rel).read_bytes())

    def rewrite(rel: str, text: str) -> Any:
        return lambda: (root / rel).write_text(text)

    original = (root / "app/api/index.py").read_bytes()
    step(touch("app/lib/util.py"))  # a helper: it and its importers re-imported in place
    step(touch("helper.py"))  # a helper outside app/
    step(touch("app/pages/_layout.html"))  # a shared template
    step(touch("public/styles.css"))  # a stylesheet swapped in open pages
    step(rewrite("app/api/index.py", "async def get(req):\n    return {'json': {'edited': True}}\n"))
    assert request(server.url + "/", headers={"Accept": "application/json"}) == 200
    step(lambda: (root / "app/api/index.py").write_bytes(original))  # the edit undone
    step(rewrite("app/api/extra.py", "async def get(req):\n    return {}\n"))  # a route added
    step(lambda: (root / "app/api/extra.py").unlink())  # and removed
    step(lambda: (root / "app/pages/about.html").rename(root / "app/pages/about2.html"))
    step(lambda: (root / "app/pages/about2.html").rename(root / "app/pages/about.html"))
    step(touch("pyproject.toml"), "new worker")  # a restart of the worker
    assert snapshot(root) == before  # nothing so far, and nothing below either
    return done


def test_a_session_of_reloads_and_requests_leaves_the_tree_byte_for_byte(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project
    before = snapshot(root)
    served = 0

    def cli(*args: str) -> None:
        result = subprocess.run([sys.executable, "-m", "devserver", *args], capture_output=True,
                                text=True, timeout=60, env={**os.environ, **BYTECODE_ON})
        assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stderr

    cli("routes", str(root))
    cli("routes", str(root), "--json")
    cli("match", str(root), "/users/1", "--method", "POST")
    cli("match", str(root), "/nowhere")

    server = start_server(root, env=BYTECODE_ON, timeout=60)
    try:
        served += serve_all(server.url, REQUESTS + DEV_ONLY)
        reloads = _reloads(server, root, before)
        served += serve_all(server.url, REQUESTS + DEV_ONLY)
    finally:
        server.stop()

    quiet = start_server(root, "--no-reload", env=BYTECODE_ON, timeout=60)
    try:
        served += serve_all(quiet.url, REQUESTS)
    finally:
        quiet.stop()

    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # as in a user's gunicorn process
    served += asyncio.run(_production(root))

    after = snapshot(root)
    assert after == before, {k: (before.get(k), after.get(k)) for k in set(before) | set(after)
                             if before.get(k) != after.get(k)}
    assert sorted(p.name for p in (root / ".devserver").iterdir()) == ["secret"]
    print(f"nothing lost: {len(before)} paths unchanged after 4 CLI runs, {served} requests and "
          f"{reloads} reloads (one a worker restart)")


async def _production(root: Path) -> int:
    async with TestClient(TestServer(create_app(root, dev=False))) as client:
        for method, path, body, headers, expected in REQUESTS:
            resp = await client.request(method, path, data=body, headers=headers)
            await resp.read()
            assert resp.status == expected, (method, path, resp.status)
        resp = await client.get("/", headers={"Accept": "application/json"})
        assert json.loads(await resp.read())["greeting"] == "hello"
    return len(REQUESTS) + 1
