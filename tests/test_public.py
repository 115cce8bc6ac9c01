"""Static files from ``public/`` at ``/_public/...`` through a real server (DESIGN §1, issue 3).

Escape attempts are sent on a raw socket, byte for byte, so no client library normalises
``..``, ``%2e`` or ``//`` away before the server sees them.
"""

from __future__ import annotations

import email.utils
import os
import socket
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devserver import create_app

from .conftest import Server, start_server
from .test_pages import BROWSER, JSON, fetch

SECRETS = ("TOPSECRET-ROOT", "TOPSECRET-OUTSIDE", "TOPSECRET-DOTENV", "TOPSECRET-GIT", "TOPSECRET-HIDDEN",
           "root:x:0:0")

FILES: dict[str, bytes] = {
    "public/styles.css": b"body { color: red; }\n",
    "public/app.js": b"console.log('hi');\n",
    "public/module.mjs": b"export const x = 1;\n",
    "public/data.json": b'{"a": 1}\n',
    "public/logo.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>\n',
    "public/page.html": b"<!doctype html><p>static</p>\n",
    "public/notes.txt": b"plain text\n",
    "public/image.png": b"\x89PNG\r\n\x1a\n" + bytes(32),
    "public/photo.webp": b"RIFF\x00\x00\x00\x00WEBP",
    "public/font.woff2": b"wOF2" + bytes(16),
    "public/mod.wasm": b"\x00asm\x01\x00\x00\x00",
    "public/favicon.ico": bytes(16),
    "public/site.webmanifest": b"{}",
    "public/blob.unknownext": b"???",
    "public/with space.txt": b"spaced\n",
    "public/caf\u00e9.txt": b"accented\n",
    "public/sub/deep/file.txt": b"deep\n",
    "public/sub/index.html": b"<p>not a listing</p>\n",
    "public/.env": b"TOPSECRET-DOTENV\n",
    "public/.git/config": b"[core] TOPSECRET-GIT\n",
    "public/.hidden/x.txt": b"TOPSECRET-HIDDEN\n",
    "secret.txt": b"TOPSECRET-ROOT\n",
    "app/api/index.py": b"async def get(req):\n    return {'json': {}}\n",
}

CONTENT_TYPES = [
    ("styles.css", "text/css; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("module.mjs", "text/javascript; charset=utf-8"),
    ("data.json", "application/json"),
    ("logo.svg", "image/svg+xml"),
    ("page.html", "text/html; charset=utf-8"),
    ("notes.txt", "text/plain; charset=utf-8"),
    ("image.png", "image/png"),
    ("photo.webp", "image/webp"),
    ("font.woff2", "font/woff2"),
    ("mod.wasm", "application/wasm"),
    ("favicon.ico", "image/x-icon"),
    ("site.webmanifest", "application/manifest+json"),
    ("blob.unknownext", "application/octet-stream"),
]


def build(base: Path) -> Path:
    root = base / "project"
    outside = base / "outside"
    outside.mkdir(parents=True)
    (outside / "secret.txt").write_bytes(b"TOPSECRET-OUTSIDE\n")
    for rel, data in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    public = root / "public"
    (public / "link-out.txt").symlink_to(outside / "secret.txt")
    (public / "dir-out").symlink_to(outside, target_is_directory=True)
    (public / "link-root.txt").symlink_to(root / "secret.txt")
    (public / "etc").symlink_to("/etc", target_is_directory=True)
    (public / "link-in.css").symlink_to(public / "styles.css")
    (public / "loop-a").symlink_to(public / "loop-b")
    (public / "loop-b").symlink_to(public / "loop-a")
    return root


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("public"))


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[Server]:
    running = start_server(root, "--no-reload")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def url(server: Server) -> str:
    return server.url


@dataclass
class Raw:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def raw_request(url: str, target: bytes, method: bytes = b"GET",
                headers: dict[str, str] | None = None) -> Raw:
    """Send ``target`` exactly as given on a raw socket; read the answer until the server closes."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    lines = [method + b" " + target + b" HTTP/1.1", f"Host: {parts.netloc}".encode(),
             b"Connection: close"]
    lines += [f"{k}: {v}".encode() for k, v in (headers or {}).items()]
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found = {}
    for line in header_lines:
        key, _, value = line.partition(":")
        found[key.strip().lower()] = value.strip()
    return Raw(int(status_line.split()[1]), found, body)


# --- serving ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "ctype"), CONTENT_TYPES)
def test_content_types(url: str, root: Path, name: str, ctype: str) -> None:
    reply = fetch(url, "GET", f"/_public/{name}")
    assert reply.status == 200
    assert reply.header("Content-Type") == ctype
    assert reply.body == (root / "public" / name).read_bytes()
    assert reply.header("X-Content-Type-Options") == "nosniff"


def test_nested_files_and_encoded_names(url: str) -> None:
    assert fetch(url, "GET", "/_public/sub/deep/file.txt").body == b"deep\n"
    assert fetch(url, "GET", "/_public/with%20space.txt").body == b"spaced\n"
    assert fetch(url, "GET", "/_public/caf%C3%A9.txt").body == b"accented\n"
    assert fetch(url, "GET", "/_public/%73tyles.css").status == 200  # an encoded letter is a letter


def test_query_string_is_ignored(url: str) -> None:
    assert fetch(url, "GET", "/_public/app.js?v=123&x=..%2F").body == FILES["public/app.js"]


def test_a_symlink_to_a_file_inside_public_is_served(url: str) -> None:
    assert fetch(url, "GET", "/_public/link-in.css").body == FILES["public/styles.css"]


def test_dev_cache_headers(url: str) -> None:
    reply = fetch(url, "GET", "/_public/styles.css")
    assert reply.header("Cache-Control") == "no-cache"
    assert reply.header("ETag")
    last = reply.header("Last-Modified")
    assert last and email.utils.parsedate_to_datetime(last)


def test_if_none_match_answers_304(url: str) -> None:
    etag = fetch(url, "GET", "/_public/app.js").header("ETag")
    assert etag
    for value in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
        reply = fetch(url, "GET", "/_public/app.js", headers={"If-None-Match": value})
        assert (reply.status, reply.body) == (304, b""), value
        assert reply.header("ETag") == etag
        assert reply.header("Cache-Control") == "no-cache"
    assert fetch(url, "GET", "/_public/app.js", headers={"If-None-Match": '"other"'}).status == 200


def test_if_modified_since_answers_304(url: str) -> None:
    last = fetch(url, "GET", "/_public/app.js").header("Last-Modified")
    assert last
    assert fetch(url, "GET", "/_public/app.js", headers={"If-Modified-Since": last}).status == 304
    old = email.utils.formatdate(time.time() - 10 * 365 * 86400, usegmt=True)
    assert fetch(url, "GET", "/_public/app.js", headers={"If-Modified-Since": old}).status == 200


def test_a_changed_file_gets_a_new_etag(url: str, root: Path) -> None:
    path = root / "public" / "changing.txt"
    path.write_text("one")
    first = fetch(url, "GET", "/_public/changing.txt")
    path.write_text("two, longer")
    os.utime(path, (time.time() + 5, time.time() + 5))
    second = fetch(url, "GET", "/_public/changing.txt", headers={"If-None-Match": first.header("ETag") or ""})
    assert (second.status, second.body) == (200, b"two, longer")
    assert second.header("ETag") != first.header("ETag")


def test_head_has_the_length_and_no_body(url: str) -> None:
    reply = fetch(url, "HEAD", "/_public/styles.css")
    assert (reply.status, reply.body) == (200, b"")
    assert reply.header("Content-Length") == str(len(FILES["public/styles.css"]))
    assert reply.header("Content-Type") == "text/css; charset=utf-8"


def test_ranges(url: str) -> None:
    reply = fetch(url, "GET", "/_public/notes.txt", headers={"Range": "bytes=0-4"})
    assert (reply.status, reply.body) == (206, b"plain")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_other_methods_answer_405(url: str, method: str) -> None:
    reply = fetch(url, method, "/_public/styles.css", body=b"x")
    assert (reply.status, reply.header("Allow")) == (405, "GET, HEAD, OPTIONS")
    assert b"color: red" not in reply.body
    error = fetch(url, method, "/_public/styles.css", body=b"x", accept=JSON).json()["error"]
    assert error["status"] == 405 and error["allow"] == ["GET", "HEAD", "OPTIONS"]
    assert fetch(url, method, "/_public/nope.css", body=b"x").status == 404  # no file: 404 first


def test_options(url: str) -> None:
    reply = fetch(url, "OPTIONS", "/_public/styles.css")
    assert (reply.status, reply.header("Allow")) == (204, "GET, HEAD, OPTIONS")
    assert reply.header("Cache-Control") == "no-cache"


def test_missing_files_are_404_in_the_clients_form(url: str) -> None:
    html = fetch(url, "GET", "/_public/nope.css")
    assert (html.status, html.ctype) == (404, "text/html")
    assert html.header("Vary") == "Accept"
    assert html.header("Cache-Control") == "no-cache"
    error = fetch(url, "GET", "/_public/nope.css", accept=JSON).json()["error"]
    assert error == {"status": 404, "message": "no file /_public/nope.css in public/"}


def test_public_is_not_a_route_prefix_for_other_paths(url: str) -> None:
    assert fetch(url, "GET", "/_publicx/styles.css", accept=JSON).status == 404
    assert fetch(url, "GET", "/public/styles.css", accept=JSON).status == 404


# --- escape attempts -------------------------------------------------------------------------------

ESCAPES = [
    # dot-dot, plain and percent-encoded in every case
    b"/_public/../secret.txt",
    b"/_public/../../outside/secret.txt",
    b"/_public/sub/../../secret.txt",
    b"/_public/%2e%2e/secret.txt",
    b"/_public/%2E%2E/secret.txt",
    b"/_public/.%2e/secret.txt",
    b"/_public/%2e./secret.txt",
    b"/_public/%2e%2e%2fsecret.txt",
    b"/_public/%2E%2E%2Fsecret.txt",
    b"/_public/..%2Fsecret.txt",
    b"/_public/..%2fsecret.txt",
    b"/_public/sub/..%2F..%2Fsecret.txt",
    b"/_public/sub%2F..%2F..%2Fsecret.txt",
    b"/_public/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    b"/_public/../../../../../../etc/passwd",
    b"/_public/%252e%252e/secret.txt",
    b"/_public/%c0%ae%c0%ae/secret.txt",
    b"/_public/%u002e%u002e/secret.txt",
    b"/_public/..;/secret.txt",
    b"/_public/../_public/styles.css",
    # backslashes
    b"/_public/..%5Csecret.txt",
    b"/_public/..%5csecret.txt",
    b"/_public/..\\secret.txt",
    b"/_public/sub%5C..%5C..%5Csecret.txt",
    b"/_public/%5C%5Cserver%5Cshare",
    # absolute paths
    b"//etc/passwd",
    b"/_public//etc/passwd",
    b"/_public///etc/passwd",
    b"/_public/%2Fetc%2Fpasswd",
    b"/_public/%2fetc/passwd",
    b"/_public/C:%5CWindows%5Cwin.ini",
    b"/_public/C:/Windows/win.ini",
    b"/_public/etc/passwd",
    # symlinks out of public/, and a loop
    b"/_public/link-out.txt",
    b"/_public/link-root.txt",
    b"/_public/dir-out/secret.txt",
    b"/_public/loop-a",
    # NUL
    b"/_public/styles.css%00.txt",
    b"/_public/styles.css%00",
    b"/_public/%00/../secret.txt",
    b"/_public/..%00/secret.txt",
    # dotfiles
    b"/_public/.env",
    b"/_public/%2eenv",
    b"/_public/%2Eenv",
    b"/_public/.git/config",
    b"/_public/.git/",
    b"/_public/.hidden/x.txt",
    b"/_public/sub/../.env",
    b"/_public/.",
    b"/_public/./styles.css",
    # directory listings and non-files
    b"/_public/",
    b"/_public",
    b"/_public/sub",
    b"/_public/sub/",
    b"/_public/sub/deep/",
    b"/_public/styles.css/",
    b"/_public/styles.css/..",
    b"/_public//styles.css",
    # invalid encodings
    b"/_public/%ff%fe",
    b"/_public/%zz",
]


def test_raw_requests_do_reach_files(url: str) -> None:
    """The escape tests below mean something: the same raw socket gets real files."""
    assert raw_request(url, b"/_public/styles.css").body == FILES["public/styles.css"]
    assert raw_request(url, b"/_public/sub/deep/file.txt").body == b"deep\n"


@pytest.mark.parametrize("target", ESCAPES, ids=[t.decode("latin-1") for t in ESCAPES])
def test_escape_attempts_never_reach_a_file(url: str, target: bytes) -> None:
    for accept in (BROWSER, JSON):
        reply = raw_request(url, target, headers={"Accept": accept})
        assert reply.status in (400, 404), (target, reply.status, reply.body[:200])
        for secret in SECRETS:
            assert secret.encode() not in reply.body, (target, secret)
        assert b"color: red" not in reply.body  # and no file from public/ either


@pytest.mark.parametrize("target", [b"/_public/styles.css\x00.txt", b"/_public/a\tb", b"/_public/..\x00/x"])
def test_raw_control_bytes_in_the_request_line_are_refused(url: str, target: bytes) -> None:
    try:
        reply = raw_request(url, target)
    except (ConnectionError, IndexError, ValueError):
        return  # the HTTP parser dropped the connection: nothing was served
    assert reply.status in (400, 404)
    assert b"color: red" not in reply.body


@pytest.mark.parametrize("method", [b"HEAD", b"POST", b"OPTIONS"])
def test_escape_attempts_with_other_methods(url: str, method: bytes) -> None:
    for target in (b"/_public/../secret.txt", b"/_public/link-out.txt", b"/_public/.env"):
        reply = raw_request(url, target, method=method)
        assert reply.status in (400, 404), (method, target, reply.status)


# --- outside dev ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_outside_dev_files_are_cached_briefly_and_still_safe(aiohttp_client: Any,
                                                                   tmp_path: Path) -> None:
    root = build(tmp_path)
    client = await aiohttp_client(create_app(root, dev=False))
    resp = await client.get("/_public/styles.css")
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "public, max-age=300"
    assert resp.headers["ETag"]
    for target in ("/_public/.env", "/_public/link-out.txt", "/_public/%2e%2e/secret.txt"):
        resp = await client.get(target)
        assert resp.status == 404
        text = await resp.text()
        assert not any(secret in text for secret in SECRETS)
        assert str(root) not in text
