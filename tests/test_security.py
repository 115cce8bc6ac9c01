"""Who gets in and what they see (issue 9, item 5), against real servers.

- devserver's own endpoints (dashboard, ``/__devserver/*``, the WebSocket) refuse a foreign
  ``Host`` (DNS rebinding) and a foreign ``Origin``, also with ``--cors``;
- the session secret is created 0600 (its folder 0700) and no path serves it;
- hostile route, file and parameter names are text everywhere they are shown: the dashboard,
  the 404 and 500 pages and a page in real Chromium (no element, attribute or dialog is created),
  and the CLI and the log (no terminal escape sequence reaches the terminal);
- ``public/`` never serves outside itself, and nothing lists a folder;
- outside dev: no dashboard, no devserver endpoints, no traceback and no file path.
"""

from __future__ import annotations

import json
import re
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from devserver import create_app

from .conftest import Server, start_server, write_app

IMG = "<img src=x onerror=alert(1)>"
SCRIPT_DIR = "<"  # with the file below, the route id is `</script><svg onload=alert(2)>`
SCRIPT_FILE = "script><svg onload=alert(2)>"
QUOTES = "\"'><img src=x onerror=alert(3)>"
ESC = "red\x1b[31mX\x1b]0;pwned\x07"  # a colour and a window-title escape

APP = {
    f"app/api/{IMG}.py": "async def get(req):\n    return {'json': {'ok': True}}\n",
    f"app/api/{SCRIPT_DIR}/{SCRIPT_FILE}.py": "async def get(req):\n    return {'json': {}}\n",
    f"app/api/{QUOTES}.py": "raise RuntimeError('<img src=x onerror=alert(4)>')\n",
    f"app/api/{ESC}.py": "async def get(req):\n    return {'json': {}}\n",
    "app/api/broken_esc.py": "raise RuntimeError('\\x1b[2J\\x1b[31mcleared')\n",
    "app/api/index.py": "async def get(req):\n    return {'json': {'v': 1}}\n",
    # a "did you mean" link to it must stay on this server: `/\evil.example` is `//evil.example`
    "app/api/\\evil.example.py": "async def get(req):\n    return {'json': {}}\n",
    "app/api/boom.py": "async def get(req):\n    raise RuntimeError('secret detail')\n",
    "app/pages/p/[x].html": "<html><body><p id=v>{{ req.params.x }}</p><p>{{ store }}</p></body></html>\n",
    "app/pages/about.html": "<html><body>about</body></html>\n",
    "public/styles.css": "body { color: red; }\n",
    "public/sub/file.txt": "deep\n",
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_app(tmp_path_factory.mktemp("security") / "project", APP)
    (root / "public" / "secret-link").symlink_to(root / ".devserver" / "secret")
    (root / "public" / "dot").symlink_to(root / ".devserver")
    return root


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[Server]:
    running = start_server(root, timeout=60)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def cors_server(root: Path) -> Iterator[Server]:
    running = start_server(root, "--cors", "--no-reload", timeout=60)
    yield running
    running.stop()


def raw(url: str, target: bytes, headers: dict[str, str] | None = None,
        method: bytes = b"GET") -> tuple[int, dict[str, str], bytes]:
    """One request on a raw socket, byte for byte; the status, headers (lower-case) and body."""
    host, port = url.removeprefix("http://").split(":")
    head = {"Host": f"{host}:{port}", "Connection": "close", **(headers or {})}
    data = method + b" " + target + b" HTTP/1.1\r\n"
    data += b"".join(f"{k}: {v}\r\n".encode() for k, v in head.items()) + b"\r\n"
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(data)
        response = b""
        while b"\r\n\r\n" not in response and (chunk := sock.recv(65536)):
            response += chunk
        top, _, body = response.partition(b"\r\n\r\n")
        lines = top.decode("latin-1").split("\r\n")
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        status = int(lines[0].split()[1])
        # NOTE: an Upgrade request keeps its connection open: read the body by its length.
        length = int(fields.get("content-length", "-1"))
        while status != 101 and (length < 0 or len(body) < length) and (chunk := sock.recv(65536)):
            body += chunk
    return status, fields, body


def secret_of(root: Path) -> bytes:
    return (root / ".devserver" / "secret").read_bytes().strip()


# -- Host and Origin ------------------------------------------------------------------------------

OWN = [b"/__routes", b"/__routes.json", b"/__routes/match?path=/", b"/__devserver/static/live.js",
       b"/__devserver/api/journal", b"/__devserver/api/controls", b"/__devserver/ws", b"/__devserver/x"]
FOREIGN_HOSTS = ["evil.example", "evil.example:80", "127.0.0.1.nip.io", "localhost.evil.example",
                 "[::ffff:7f00:1]", "0.0.0.0", ""]


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_own_endpoints_refuse_a_foreign_host(server: Server, host: str) -> None:
    for target in OWN:
        status, _, body = raw(server.url, target, {"Host": host})
        assert status in (400, 403), (target, host, status)  # 400: aiohttp refuses an empty Host
        assert b"onerror" not in body and b"routes" not in body.replace(b"/__routes", b""), body[:200]


def test_own_endpoints_answer_their_own_host(server: Server) -> None:
    port = server.url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"app.localhost:{port}"):
        assert raw(server.url, b"/__routes.json", {"Host": host})[0] == 200, host


def _upgrade(origin: str | None, host: str | None = None) -> dict[str, str]:
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    if origin is not None:
        headers["Origin"] = origin
    if host is not None:
        headers["Host"] = host
    return headers


def test_the_websocket_refuses_foreign_origins_and_hosts(server: Server) -> None:
    own = server.url
    port = own.rsplit(":", 1)[1]
    for origin in ("http://evil.example", "null", f"http://localhost:{port}", "https://127.0.0.1:1",
                   f"{own}.evil.example", "file://", "chrome-extension://abc"):
        assert raw(own, b"/__devserver/ws", _upgrade(origin))[0] == 403, origin
    assert raw(own, b"/__devserver/ws", _upgrade("http://evil.example", "evil.example"))[0] == 403
    assert raw(own, b"/__devserver/ws", _upgrade(own))[0] == 101
    assert raw(own, b"/__devserver/ws", _upgrade(None))[0] == 101  # a non-browser tool


def test_with_cors_devservers_own_endpoints_still_refuse_other_origins(cors_server: Server) -> None:
    evil = {"Origin": "http://evil.example"}
    status, headers, _ = raw(cors_server.url, b"/__routes.json", evil)
    assert "access-control-allow-origin" not in headers  # a foreign page cannot read it
    status, _, _ = raw(cors_server.url, b"/__devserver/api/journal", evil)
    assert status == 403
    body = b'{"route": "index", "status": 500}'
    status, _, _ = raw(cors_server.url, b"/__devserver/api/controls",
                       {**evil, "Content-Type": "text/plain", "Content-Length": str(len(body))},
                       method=b"POST")
    assert status == 403
    # while the app's own routes are shared with it, as --cors promises
    status, headers, _ = raw(cors_server.url, b"/", evil)
    assert status == 200 and headers["access-control-allow-origin"] == "http://evil.example"


# -- the session secret ---------------------------------------------------------------------------

SECRET_PATHS = [b"/.devserver/secret", b"/_public/../.devserver/secret", b"/_public/%2e%2e/.devserver/secret",
                b"/_public/..%2f.devserver%2fsecret", b"/_public/%2E%2E%2F.devserver%2Fsecret",
                b"/_public/secret-link", b"/_public/dot/secret", b"/_public/.devserver/secret",
                b"/_public//.devserver/secret", b"/_public/%5C..%5C.devserver%5Csecret",
                b"/__devserver/static/../../.devserver/secret", b"/__devserver/static/%2e%2e/secret",
                b"/__routes/../.devserver/secret", b"/%2e%2e/.devserver/secret",
                b"/_public/sub/../../.devserver/secret", b"/_public/.%2e/.devserver/secret"]


def test_the_secret_is_0600_in_a_0700_folder_and_never_served(server: Server, root: Path) -> None:
    folder = root / ".devserver"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "secret").stat().st_mode) == 0o600
    secret = secret_of(root)
    for target in SECRET_PATHS:
        for accept in ("text/html", "application/json"):
            status, _, body = raw(server.url, target, {"Accept": accept})
            assert 400 <= status < 500, (target, status)
            assert secret not in body, target
    # a parameter value may spell the path; it is only ever a string
    status, _, body = raw(server.url, b"/p/..%2f.devserver%2fsecret", {"Accept": "application/json"})
    assert secret not in body


def test_public_serves_files_inside_only_and_lists_no_folder(server: Server) -> None:
    assert raw(server.url, b"/_public/styles.css")[0] == 200
    for target in (b"/_public/", b"/_public", b"/_public/sub", b"/_public/sub/", b"/__devserver/static/",
                   b"/__devserver/static", b"/app/", b"/public/", b"/_public/../app/api/"):
        status, _, body = raw(server.url, target)
        assert status == 404, target
        assert b"file.txt" not in body and b"styles.css" not in body and b"index.py" not in body, target


# -- names as text --------------------------------------------------------------------------------

def test_the_cli_prints_names_verbatim_and_no_terminal_escapes(root: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "devserver", *args], capture_output=True,
                              text=True, timeout=60)

    table = run("routes", str(root))
    assert IMG in table.stdout and f"/{SCRIPT_DIR}/{SCRIPT_FILE}" in table.stdout
    assert "red\\u001b[31mX\\u001b]0;pwned\\u0007" in table.stdout
    explained = run("match", str(root), "/red")
    for out in (table.stdout + table.stderr, explained.stdout + explained.stderr):
        assert "\x1b" not in out and "\x07" not in out
        assert "\\u001b[2J" in table.stdout  # the broken module's message, escaped too
    as_json = json.loads(run("routes", str(root), "--json").stdout)
    assert {ESC, IMG, f"{SCRIPT_DIR}/{SCRIPT_FILE}"} <= {r["id"] for r in as_json["routes"]}


def test_the_log_carries_no_terminal_escapes(server: Server) -> None:
    raw(server.url, b"/" + quote(ESC).encode())
    raw(server.url, b"/broken_esc")
    output = server.output
    assert "broken_esc" in output and "\\u001b[2J" in output
    assert "\x1b" not in output and "\x07" not in output


# -- outside dev ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_outside_dev_no_dashboard_no_traceback_no_path(aiohttp_client: Any, root: Path) -> None:
    client = await aiohttp_client(create_app(root, dev=False))
    for target in ("/__routes", "/__routes.json", "/__routes/match?path=/", "/__devserver/ws",
                   "/__devserver/api/journal", "/__devserver/static/live.js",
                   "/__devserver/static/dashboard.js"):
        for accept in ("text/html", "application/json"):
            resp = await client.get(target, headers={"Accept": accept})
            assert resp.status == 404, target
            text = await resp.text()
            assert "route table" not in text.lower() and "url tester" not in text.lower(), target
            assert "devserver-live" not in text and "t-path" not in text, target
    secret = secret_of(root).decode()
    for target, status in (("/boom", 500), (f"/{quote(QUOTES)}", 500), ("/nowhere", 404),
                           ("/", 200), ("/about", 200)):
        for accept in ("text/html", "application/json"):
            resp = await client.get(target, headers={"Accept": accept})
            text = await resp.text()
            page_only = target == "/about" and accept == "application/json"
            assert resp.status == (406 if page_only else status), (target, resp.status)
            for leak in ("Traceback", "secret detail", str(root), "app/api", ".py", "onerror=alert(4)",
                         "live.js", secret):
                assert leak not in text, (target, leak)
    # the 404 page names no other route (no "did you mean", no candidates)
    text = await (await client.get("/abou", headers={"Accept": "text/html"})).text()
    assert "/about" not in text and IMG not in text


def test_create_app_writes_the_secret_0600(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_app(tmp_path / "fresh", {"app/api/index.py": APP["app/api/index.py"]})
    monkeypatch.delenv("DEVSERVER_SECRET", raising=False)
    create_app(root, dev=False)
    assert stat.S_IMODE((root / ".devserver").stat().st_mode) == 0o700
    assert stat.S_IMODE((root / ".devserver" / "secret").stat().st_mode) == 0o600
    assert re.fullmatch(rb"[A-Za-z0-9_-]{40,}", secret_of(root))
