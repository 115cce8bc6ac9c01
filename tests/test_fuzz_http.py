"""HTTP fuzz against real servers on a real socket (issue 9, item 2).

Raw bytes go out over asyncio streams, so no client library normalises a path, a header or a
body before the server sees it. Two servers answer the same seeded stream of requests: a
``devserver run`` (dev, with reload) and ``create_app(root, dev=False)`` (production). Every
answer must be a designed status: 1xx-4xx, or a 500 only from the two deliberately broken routes
(``/boom`` raises, ``/broken`` does not import). Outside dev no answer may show a traceback, a
file path or the dashboard; neither server may log an unhandled exception; both must still serve
a normal request at the end.

The count and the seed are fixed for CI; more, or another seed, from the environment::

    DEVSERVER_FUZZ_REQUESTS=20000 DEVSERVER_FUZZ_SEED=7 .venv/bin/python -m pytest tests/test_fuzz_http.py
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest

from .conftest import Server, start_server, write_app

SEED = int(os.environ.get("DEVSERVER_FUZZ_SEED", "2024"))
REQUESTS = int(os.environ.get("DEVSERVER_FUZZ_REQUESTS", "2000"))  # in all, split over both servers
MAX_BODY = 64 * 1024  # small, so "oversized" bodies are cheap to send
CONCURRENCY = 8
TIMEOUT = 30.0  # per request; generous for a loaded 2-core CI machine

APP = {
    "app/api/index.py": """
        async def get(req):
            return {"json": {"ok": True, "query": req.query}}

        async def post(req):
            return {"json": {"type": type(req.body).__name__}}
        """,
    "app/api/users/[id].py": """
        async def get(req):
            return {"json": {"id": req.params["id"], "session": req.session}}

        async def post(req):
            body = req.body if isinstance(req.body, dict) else {}
            return {"json": {"keys": sorted(map(str, body))}, "session": {"n": len(body)}}

        def put(req):
            return {"json": {"type": type(req.body).__name__}, "status": 201}

        async def delete(req):
            return {"location": "/"}
        """,
    "app/api/files/[...rest].py": """
        async def handler(req):
            return {"json": {"rest": req.params["rest"], "method": req.method}}
        """,
    "app/api/form.py": """
        async def post(req):
            body = req.body if isinstance(req.body, dict) else {}
            out = {}
            for key, value in body.items():
                values = value if isinstance(value, list) else [value]
                out[key] = [getattr(v, "filename", None) or str(v)[:20] for v in values]
            return {"json": out}
        """,
    "app/api/boom.py": """
        async def get(req):
            raise RuntimeError("deliberately broken")

        post = put = get
        """,
    "app/api/broken.py": "async def get(req)\n    return {}\n",
    "app/preflight.py": "async def preflight(req):\n    return {'site': 'fuzz'}\n",
    "app/pages/_layout.html": "<html><body>{% block main %}{% endblock %}</body></html>\n",
    "app/pages/index.html": """
        {% extends "_layout.html" %}{% block main %}<h1>{{ store.site }}</h1>{% endblock %}
        """,
    "app/pages/about.html": "<html><body><p>{{ req.path }} {{ req.query }}</p></body></html>\n",
    "app/pages/users/[id].html": "<html><body>{{ store.id }} {{ req.params.id }}</body></html>\n",
    "public/styles.css": "body { color: red; }\n",
    "public/sub/file.txt": "deep\n",
    "secret.txt": "TOPSECRET-ROOT\n",
}
BROKEN = {b"boom", b"broken"}  # the only routes that may answer 500

# -- the generator --------------------------------------------------------------------------------

METHODS = [b"GET", b"GET", b"GET", b"HEAD", b"POST", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS"]
ODD_METHODS = [b"TRACE", b"CONNECT", b"PROPFIND", b"get", b"G\xc3\x89T", b"X" * 300, b"BREW", b"M-SEARCH",
               b"DESTROY", b"QUERY"]
SEGMENTS = [b"", b"users", b"files", b"about", b"form", b"boom", b"broken", b"index", b"42", b"..",
            b".", b"%2e%2e", b"%2E.", b"%2f", b"%5c", b"%00", b"%ff%fe", b"%zz", b"%", b"%e2%82",
            b"caf%C3%A9", b"a+b", b"a%20b", b";x=1", b"_public", b"__routes", b"__routes.json",
            b"__devserver", b"ws", b"api", b".devserver", b"secret", b".env", b"styles.css", b"sub",
            b"file.txt", b"%3Cscript%3E", b"~", b"*", b"%252e%252e", b"a" * 255, b"%F0%9F%92%A9", b"[id]",
            b"$id", b"%5Bid%5D", b"index.html", b"__init__.py", b"%0d%0aSet-Cookie:x=1", b"%1b[31m",
            b"%ED%A0%80", b"%C0%AE", b"secret.txt", b"..%2f..%2fsecret.txt"]
# Bytes no HTTP/1.1 request target may hold: the parser must refuse them, not crash.
RAW_SEGMENTS = ["caf\u00e9".encode(), b"\xff\xfe", b"\xc0\xae", b"<script>", b"'\"", b"\\", b"\x7f",
                b"\xf0\x9f\x92\xa9", b"a b", b"\x00", b"\x1b[31m", b"{}|^`"]
ACCEPTS = [b"application/json", b"text/html", b"*/*", b"", b"application/json;q=abc",
           b"text/html;q=0, application/json;q=0", b"*/*;q=", b";;;,,,", b"application/json;q=NaN",
           b"text/html;q=1e400", b"application/*+json, text/*;q=0.1", b"image/png", b"\xff\xfe",
           b",".join([b"a/b;q=0.5"] * 400), b"text/html;level=1;q=0.9;q=0.1", b"application/json" * 200]
COOKIES = [b"_idx=garbage", b"_idx=", b'_idx="', b"_idx=" + b"A" * 4000, b"a=1; a=2; _idx=x; =;;",
           b"\xff\xfe=\x00", b"_idx=gAAAAABk" + b"x" * 100, b"; ; ;", b"x" * 7000,
           b"_idx=" + b"%" * 50, b"$Version=1; _idx=abc; $Path=/"]
CTYPES = [b"application/json", b"application/json; charset=utf-8", b"application/json; charset=nope",
          b"application/x-www-form-urlencoded", b"application/x-www-form-urlencoded; charset=nope",
          b"multipart/form-data", b"multipart/form-data; boundary=", b"multipart/form-data; boundary=BND",
          b"multipart/form-data; boundary=" + b"b" * 200, b"text/plain", b"application/vnd.x+json",
          b"application/octet-stream", b"image/png", b";;", b"\xff", b"multipart/mixed; boundary=BND",
          b"text/html; charset=utf-8"]
JSON_BODIES = [b'{"a": 1', b'{"a": ', b"[" * 50000, b'{"a": "\xff"}', b"NaN", b"1e999999",
               b"\xef\xbb\xbf{}", b'{"a": 1}', b"null", b'"' + b"x" * 1000, b"{}" * 10, b"\x00"]


@dataclass
class Case:
    """One request: its raw bytes, whether it is complete HTTP, and whether a 500 is designed."""

    data: bytes
    label: str
    complete: bool = True  # False: the server may close without answering (truncated request)
    broken_route: bool = False
    head: bool = False
    eof: bool = False  # half-close after sending
    # The server may answer before reading all of it (a head over aiohttp's 8190-byte limits, a
    # body over --max-body) and close; unread bytes then make the kernel reset the connection,
    # which can discard that answer before the client reads it.
    early_answer: bool = False


def _multipart(rng: random.Random) -> tuple[bytes, bytes]:
    kinds = ["ok", "no-end", "wrong-boundary", "no-name", "traversal", "huge-header", "empty",
             "no-headers", "nested", "binary", "many"]
    kind = rng.choice(kinds)
    b = b"BND"
    part_file = (b"--BND\r\nContent-Disposition: form-data; name=\"f\"; filename=\"../../etc/passwd\"\r\n"
                 b"Content-Type: text/plain\r\n\r\nhello\r\n")
    part_field = b"--BND\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
    if kind == "ok":
        body = part_field + part_file + b"--BND--\r\n"
    elif kind == "no-end":
        body = part_field + b"--BND\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nunfinished"
    elif kind == "wrong-boundary":
        body = b"--OTHER\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--OTHER--\r\n"
    elif kind == "no-name":
        body = b"--BND\r\nContent-Disposition: form-data\r\n\r\n1\r\n--BND--\r\n"
    elif kind == "traversal":
        body = part_file.replace(b"../../etc/passwd", b"..\\..\\\x00\xff.txt") + b"--BND--\r\n"
    elif kind == "huge-header":
        body = (b"--BND\r\nContent-Disposition: form-data; name=\"" + b"n" * 20000 + b"\"\r\n\r\n1\r\n"
                b"--BND--\r\n")
    elif kind == "empty":
        body = b"--BND--\r\n"
    elif kind == "no-headers":
        body = b"--BND\r\n\r\nvalue\r\n--BND--\r\n"
    elif kind == "nested":
        body = (b"--BND\r\nContent-Disposition: form-data; name=\"n\"\r\n"
                b"Content-Type: multipart/mixed; boundary=IN\r\n\r\n--IN\r\n\r\nx\r\n--IN--\r\n--BND--\r\n")
    elif kind == "binary":
        body = b"--BND\r\n" + rng.randbytes(200) + b"\r\n--BND--\r\n"
    else:
        body = part_field * 300 + b"--BND--\r\n"
    ctype = rng.choice([b"multipart/form-data; boundary=" + b, b"multipart/form-data",
                        b'multipart/form-data; boundary="BND"',
                        b"multipart/form-data; boundary=BND; charset=x"])
    return ctype, body


# Paths that reach real routes, so bodies, cookies and Accept reach handlers and pages.
REAL = [b"/", b"/users/42", b"/users/caf%C3%A9", b"/files/a/b/c", b"/form", b"/about", b"/boom", b"/broken",
        b"/_public/styles.css", b"/_public/sub/file.txt", b"/__routes.json", b"/__routes",
        b"/__routes/match?path=/users/1", b"/__devserver/ws", b"/__devserver/api/journal", b"/users/42/"]


def _path(rng: random.Random) -> bytes:
    if rng.random() < 0.4:
        return rng.choice(REAL)
    roll = rng.random()
    if roll < 0.05:
        return b"/" + b"a/" * rng.choice([500, 3000, 5000])  # many segments
    if roll < 0.08:
        return b"/" + b"x" * rng.choice([4000, 8000, 9000, 70000])  # very long
    if roll < 0.10:
        return rng.choice([b"*", b"http://evil.example/users/1", b"//evil.example/x", b"users",
                           b"", b"/\x00", b"/?", b"/#frag", b"/%", b"/ /", b"/\t", b"/_public/../secret.txt"])
    pool = SEGMENTS + RAW_SEGMENTS if rng.random() < 0.15 else SEGMENTS
    parts = [rng.choice(pool) for _ in range(rng.randint(1, 5))]
    path = b"/" + b"/".join(parts)
    if rng.random() < 0.2:
        path += b"/"
    if rng.random() < 0.3:
        path += b"?" + rng.choice([b"a=1&a=2", b"x=%ff", b"=&&=", b"q=" + b"z" * 3000, b"%zz", b"a[b]=c",
                                   b"path=/x&method=GET", b"\xff\xfe"])
    return path


def _broken_route(path: bytes) -> bool:
    first = [s for s in path.split(b"?", 1)[0].split(b"/") if s][:1]
    return bool(first) and unquote_to_bytes(first[0]) in BROKEN


def _headers(rng: random.Random, host: bytes) -> list[bytes]:
    out = []
    roll = rng.random()
    if roll < 0.90:
        out.append(b"Host: " + host)
    elif roll < 0.92:
        out += [b"Host: " + host, b"Host: evil.example"]
    elif roll < 0.98:
        out.append(b"Host: " + rng.choice([b"evil.example", b"", b"[::1", b"a:b:c", b"\xff",
                                           b"127.0.0.1.nip.io"]))
    if rng.random() < 0.6:
        out.append(b"Accept: " + rng.choice(ACCEPTS))
    if rng.random() < 0.25:
        out.append(b"Cookie: " + rng.choice(COOKIES))
    if rng.random() < 0.1:
        out.append(b"Origin: " + rng.choice([b"http://evil.example", b"null", b"http://" + host, b"\xff"]))
    if rng.random() < 0.05:
        out.append(b"X-Big: " + b"v" * rng.choice([1000, 8000, 9000, 40000]))  # over aiohttp's 8190
    if rng.random() < 0.05:
        out += [b"X-Dup: %d" % n for n in range(rng.choice([10, 120]))]
    if rng.random() < 0.04:
        out.append(rng.choice([b"NoColon", b": empty-name", b"Bad Name: x", b"X-Ctl: a\x01b",
                               b"X-Fold: a\r\n b", b"X-Utf8: \xc3\xa9\xff", b"Transfer-Encoding: gzip",
                               b"Expect: 100-continue",
                               b"Connection: upgrade\r\nUpgrade: websocket", b"Content-Encoding: gzip"]))
    return out


def generate(rng: random.Random, host: bytes) -> Case:
    """One random request; a fixed ``rng`` gives the same stream on every run."""
    method = rng.choice(METHODS if rng.random() < 0.9 else ODD_METHODS)
    path = _path(rng)
    version = rng.choice([b"HTTP/1.1"] * 12 + [b"HTTP/1.0", b"HTTP/2.0", b"HTTP/9", b"HTTX/1.1", b""])
    headers = _headers(rng, host)
    body = b""
    complete = True
    eof = False
    label = "plain"
    if method in (b"POST", b"PUT", b"PATCH", b"DELETE") or rng.random() < 0.1:
        roll = rng.random()
        if roll < 0.3:
            label = "json"
            headers.append(b"Content-Type: " + rng.choice(CTYPES[:3] + [b"application/vnd.x+json"]))
            body = rng.choice(JSON_BODIES)
        elif roll < 0.5:
            label = "multipart"
            ctype, body = _multipart(rng)
            headers.append(b"Content-Type: " + ctype)
        elif roll < 0.6:
            label = "urlencoded"
            headers.append(b"Content-Type: " + rng.choice(CTYPES[3:5]))
            body = rng.choice([b"a=1&a=2&_method=delete", b"%zz=%ff", b"=&=&", b"a=" + b"b" * 5000,
                               b"\xff\xfe=\x00", b"_method=put"])
        elif roll < 0.7:
            label = "oversized"
            headers.append(b"Content-Type: " + rng.choice(CTYPES))
            body = b"x" * (MAX_BODY + rng.choice([1, 1000, 200_000]))
        else:
            label = "other-body"
            headers.append(b"Content-Type: " + rng.choice(CTYPES))
            body = rng.randbytes(rng.choice([0, 10, 500]))
        length_roll = rng.random()
        if length_roll < 0.75:
            headers.append(b"Content-Length: %d" % len(body))
        elif length_roll < 0.82:
            label += "+truncated"  # promises more than it sends, then half-closes
            headers.append(b"Content-Length: %d" % (len(body) + 100))
            complete, eof = False, True
        elif length_roll < 0.88:
            label += "+bad-length"
            headers.append(b"Content-Length: " + rng.choice([b"-1", b"abc", b"1e3", b"99999999999999999999",
                                                             b"10, 20", b" ", b"0x10", b"+5"]))
        elif length_roll < 0.92:
            label += "+two-lengths"
            headers += [b"Content-Length: %d" % len(body), b"Content-Length: %d" % (len(body) + 1)]
        elif length_roll < 0.97:
            label += "+chunked"
            headers.append(b"Transfer-Encoding: chunked")
            if rng.random() < 0.5:
                body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
            else:
                body = rng.choice([b"zz\r\nxx\r\n0\r\n\r\n", b"5\r\nab", b"-1\r\n\r\n",
                                   b"ffffffffffffffffff\r\nx\r\n"])
                complete, eof = False, True
        else:
            label += "+no-length"
    headers.append(b"Connection: close")
    rng.shuffle(headers)
    sep = rng.choice([b"\r\n"] * 20 + [b"\n"])
    line = method + b" " + path + (b" " + version if version else b"")
    data = line + sep + sep.join(headers) + sep + sep + body
    if rng.random() < 0.02:
        data = rng.choice([b"\r\n\r\n", b"GET\r\n\r\n", b"\x16\x03\x01\x00\xa5\x01\x00", b"\x00" * 100,
                           b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n"])  # junk and unfinished heads
        complete, eof, label = False, True, "junk"
    broken = _broken_route(path)
    if not version:
        complete = False  # HTTP/0.9 has no status line to answer with
    head = data.partition(sep + sep)[0]
    early = label.startswith("oversized") or any(len(h) > 8000 for h in head.split(sep))
    return Case(data, label, complete, broken, method == b"HEAD", eof, early and len(data) > len(head) + 4)


# -- the client ---------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int | None  # None: the connection closed without an answer
    head: bytes = b""
    body: bytes = b""
    reset: bool = False  # the connection was reset (after the server closed with bytes unread)


async def send(port: int, case: Case) -> Reply:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    reset = False
    try:
        try:
            writer.write(case.data)
            await writer.drain()
            if case.eof:
                writer.write_eof()
        except ConnectionError:
            reset = True  # the server answered early (413, 400) and closed: read what it said
        try:
            raw = await asyncio.wait_for(reader.read(), TIMEOUT)
        except ConnectionError:
            raw, reset = b"", True
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass
    head, _, body = raw.partition(b"\r\n\r\n")
    while re.match(rb"HTTP/\d\.\d 1\d\d ", head) and body.startswith(b"HTTP/"):
        head, _, body = body.partition(b"\r\n\r\n")  # past a 100 Continue
    found = re.match(rb"HTTP/\d\.\d (\d{3}) ", head)
    return Reply(int(found.group(1)) if found else None, head, body, reset)


@dataclass
class Tally:
    sent: int = 0
    statuses: Counter[int | None] = field(default_factory=Counter)
    labels: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def judge(case: Case, reply: Reply, tally: Tally, dev: bool, root: Path, secret: bytes) -> None:
    tally.sent += 1
    tally.statuses[reply.status] += 1
    tally.labels[case.label] += 1
    where = f"{case.label} ({len(case.data)} bytes): {case.data[:160]!r}...{case.data[-60:]!r}"
    if reply.status is None:
        if case.complete and not (reply.reset and case.early_answer):
            tally.failures.append(f"no answer to a complete request: {where}")
        return
    if reply.status >= 500 and not (reply.status == 500 and case.broken_route):
        tally.failures.append(f"unexpected {reply.status}: {where}\n{reply.body[:400]!r}")
    if secret in reply.head + reply.body:
        tally.failures.append(f"the session secret was served: {where}")
    if not dev:
        text = reply.head + reply.body
        # (the answer may repeat the request's own path, so `/__routes` itself is not a leak)
        for leak in (b"Traceback", b'File "', str(root).encode(), b"route table", b"dashboard",
                     b"deliberately broken", b"TOPSECRET", b"app/api/", b"SyntaxError", b"live.js"):
            if leak in text:
                tally.failures.append(f"outside dev the answer shows {leak!r}: {where}\n{text[:400]!r}")
    elif b"TOPSECRET" in reply.body:
        tally.failures.append(f"a file outside public/ was served: {where}")


async def fuzz(port: int, count: int, seed: int, dev: bool, root: Path) -> Tally:
    rng = random.Random(seed)
    host = b"127.0.0.1:%d" % port
    cases = [generate(rng, host) for _ in range(count)]
    tally = Tally()
    secret = (root / ".devserver" / "secret").read_bytes().strip()
    queue: asyncio.Queue[Case] = asyncio.Queue()
    for case in cases:
        queue.put_nowait(case)

    async def worker() -> None:
        while not queue.empty():
            case = queue.get_nowait()
            try:
                reply = await send(port, case)
            except (ConnectionError, TimeoutError) as exc:
                if case.complete:
                    tally.failures.append(f"{type(exc).__name__} on {case.label}: {case.data[:160]!r}")
                tally.sent += 1
                tally.statuses[None] += 1
                continue
            judge(case, reply, tally, dev, root, secret)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return tally


def normal_request(port: int) -> Reply:
    case = Case(b"GET /?after=fuzz HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
                b"Connection: close\r\n\r\n", "normal")
    return asyncio.run(send(port, case))


# -- the servers ----------------------------------------------------------------------------------

PRODUCTION = """
import socket, sys
from aiohttp import web
from devserver import create_app

sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen(128)
print("PORT", sock.getsockname()[1], flush=True)
web.run_app(create_app(sys.argv[1], dev=False, max_body={max_body}), sock=sock, print=None,
            access_log=None)
"""


@dataclass
class Production:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_production(root: Path) -> Production:
    fd, name = tempfile.mkstemp(prefix="devserver-prod-", suffix=".log")
    os.close(fd)
    log = Path(name)
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", PRODUCTION.format(max_body=MAX_BODY), str(root)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=str(root))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        found = re.search(r"PORT (\d+)", log.read_text())
        if found:
            return Production(proc, int(found.group(1)), log)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the production server did not start:\n" + log.read_text())


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_app(tmp_path_factory.mktemp("fuzz") / "project", APP)


@pytest.fixture(scope="module")
def dev_server(root: Path) -> Iterator[Server]:
    server = start_server(root, "--max-body", str(MAX_BODY), timeout=90)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def production(root: Path) -> Iterator[Production]:
    server = start_production(root)
    yield server
    server.proc.terminate()
    server.proc.wait(timeout=10)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _report(name: str, tally: Tally, took: float, seed: int) -> str:
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(tally.statuses.items(), key=lambda i: i[0] or 0))
    return f"{name}: {tally.sent} requests in {took:.1f} s (seed {seed}); statuses {statuses}"


def _run(name: str, port: int, dev: bool, root: Path, seed: int, alive: Callable[[], bool],
         output: Callable[[], str]) -> Tally:
    started = time.monotonic()
    tally = asyncio.run(fuzz(port, REQUESTS // 2, seed, dev, root))
    print(_report(name, tally, time.monotonic() - started, seed))
    assert tally.failures == [], "\n\n".join(tally.failures[:10]) + f"\n\n({len(tally.failures)} in all)"
    assert alive(), f"{name} exited:\n{output()[-3000:]}"
    after = normal_request(port)
    assert after.status == 200 and json.loads(after.body)["ok"] is True, after
    log = output()
    # An exception devserver did not turn into a designed answer reaches aiohttp, which logs this.
    for sign in ("Error handling request", "Unhandled exception", "Traceback", "devserver: devserver:"):
        at = log.find(sign)
        assert at < 0, log[at - 200:at + 4000]
    return tally


def test_dev_server_answers_every_fuzzed_request_with_a_designed_status(dev_server: Server,
                                                                        root: Path) -> None:
    tally = _run("dev", _port(dev_server.url), True, root, SEED, lambda: dev_server.proc.poll() is None,
                 lambda: dev_server.output)
    assert tally.statuses[500] > 0  # the broken routes were reached, so the 500 path was exercised


def test_production_app_answers_every_fuzzed_request_and_shows_nothing_inside(production: Production,
                                                                               root: Path) -> None:
    tally = _run("production", production.port, False, root, SEED + 1,
                 lambda: production.proc.poll() is None, lambda: production.output)
    assert tally.statuses[500] > 0
    assert "Traceback" not in production.output, production.output[-3000:]


def test_the_generator_is_deterministic_and_covers_every_kind() -> None:
    one, two = random.Random(SEED), random.Random(SEED)
    assert [generate(one, b"h:1").data for _ in range(50)] == [generate(two, b"h:1").data for _ in range(50)]
    rng = random.Random(SEED)
    labels = Counter(generate(rng, b"h:1").label.split("+")[0] for _ in range(REQUESTS // 2))
    assert {"plain", "json", "multipart", "urlencoded", "oversized", "other-body"} <= set(labels)
