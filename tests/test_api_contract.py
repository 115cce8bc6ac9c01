"""DESIGN §3 "API routes", proved through real HTTP against a real ``devserver run`` process.

One temp app with a route file per concern is served once for the whole module (``--max-body
1000`` so the body limit is cheap to cross); each test sends raw requests with ``http.client`` so
that nothing (redirects, cookies, chunking) is done behind its back. The last part runs
``create_app(root, dev=False)`` in-process to prove that outside dev no traceback or file path
is ever shown.
"""

from __future__ import annotations

import http.client
import io
import json
import textwrap
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData

from devserver import create_app
from tests.conftest import Server, start_server, write_app

JSON = "application/json"
HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
MAX_BODY = 1000

APP: dict[str, str] = {
    # --- handler names -------------------------------------------------------------------
    "app/api/names/destroy.py": """
        async def get(req):
            return {"json": {"handler": "get"}}

        async def destroy(req):
            return {"json": {"handler": "destroy", "method": req.method}}
    """,
    "app/api/names/both.py": """
        async def delete(req):
            return {"json": {"handler": "delete"}}

        async def destroy(req):
            return {"json": {"handler": "destroy"}}
    """,
    "app/api/names/fallback.py": """
        async def get(req):
            return {"json": {"handler": "get", "method": req.method}}

        async def handler(req):
            return {"json": {"handler": "handler", "method": req.method}}
    """,
    "app/api/names/only_handler.py": """
        async def handler(req):
            return {"json": {"handler": "handler", "method": req.method},
                    "headers": {"X-Handler": "handler"}}
    """,
    "app/api/names/post_only.py": """
        async def post(req):
            return {"json": {"handler": "post"}}
    """,
    "app/api/methods.py": """
        async def get(req):
            return {"json": {"handler": "get", "method": req.method, "body": req.body}}

        async def post(req):
            return {"json": {"handler": "post", "method": req.method, "body": req.body}}

        async def put(req):
            return {"json": {"handler": "put", "method": req.method, "body": req.body}}

        async def patch(req):
            return {"json": {"handler": "patch", "method": req.method, "body": req.body}}

        async def delete(req):
            return {"json": {"handler": "delete", "method": req.method, "body": req.body}}
    """,
    # --- sync handlers ---------------------------------------------------------------------
    "app/api/sync.py": """
        import threading
        import time

        def get(req):
            time.sleep(float(req.query.get("sleep", "0")))
            return {"json": {"thread": threading.current_thread().name, "method": req.method},
                    "headers": {"X-Sync": "yes"}}

        async def post(req):
            return {"json": {"thread": threading.current_thread().name}}
    """,
    # --- HEAD ------------------------------------------------------------------------------
    "app/api/head.py": """
        async def get(req):
            return {"json": {"hello": "world"}, "headers": {"X-From-Get": "1", "X-Method": req.method}}
    """,
    # --- req -------------------------------------------------------------------------------
    "app/api/inspect/[id].py": """
        from aiohttp import web

        async def handler(req):
            return {"json": {
                "method": req.method,
                "path": req.path,
                "params": dict(req.params),
                "query": dict(req.query),
                "lower": req.headers.get("x-custom"),
                "upper": req.headers.get("X-CUSTOM"),
                "mixed": req.headers.get("X-Custom"),
                "body": req.body if not isinstance(req.body, bytes) else req.body.decode(),
                "session": req.session,
                "session_type": type(req.session).__name__,
                "raw_is_request": isinstance(req.raw, web.Request),
                "raw_path_qs": req.raw.path_qs,
            }}
    """,
    "app/api/files/[...rest].py": """
        async def get(req):
            return {"json": {"params": dict(req.params), "path": req.path}}
    """,
    # --- body ------------------------------------------------------------------------------
    "app/api/body.py": """
        def describe(value):
            if isinstance(value, bytes):
                return {"bytes": value.decode("latin-1")}
            if isinstance(value, dict):
                return {"dict": {k: describe(v) for k, v in value.items()}}
            if isinstance(value, list):
                return {"list": [describe(v) for v in value]}
            if hasattr(value, "filename"):
                return {"file": {"filename": value.filename, "content_type": value.content_type,
                                 "data": value.data.decode("latin-1"),
                                 "data_type": type(value.data).__name__}}
            return {type(value).__name__: value}

        async def handler(req):
            return {"json": describe(req.body)}
    """,
    "app/api/counter.py": """
        CALLS = []

        async def get(req):
            return {"json": {"calls": len(CALLS)}}

        async def post(req):
            CALLS.append(req.body)
            return {"json": {"calls": len(CALLS)}}

        def put(req):
            CALLS.append(req.body)
            return {"json": {"calls": len(CALLS)}}
    """,
    # --- what a handler returns ------------------------------------------------------------
    "app/api/result.py": """
        import datetime
        import decimal
        import uuid

        CIRCULAR = {"name": "loop"}
        CIRCULAR["self"] = [CIRCULAR]

        CASES = {
            "json": {"json": {"a": [1, 2], "b": None}},
            "json_list": {"json": [1, "two"]},
            "json_null": {"json": None},
            "none": None,
            "empty": {},
            "statusCode": {"statusCode": 201, "json": {"alias": "statusCode"}},
            "status_code": {"status_code": 202, "json": {"alias": "status_code"}},
            "code": {"code": 203, "json": {"alias": "code"}},
            "status": {"status": 404, "json": {"error": "no such user"}},
            "no_json_418": {"status": 418},
            "204": {"status": 204, "json": {"dropped": True}},
            "304": {"status": 304},
            "cacheControl": {"cacheControl": "no-store"},
            "cache_control": {"cache_control": "max-age=60"},
            "headers": {"headers": {"X-One": "1", "X-Two": 2}},
            "header_cache": {"headers": {"cache-control": "private"}},
            "content_type": {"headers": {"Content-Type": "application/vnd.api+json"}, "json": {"a": 1}},
            "vary": {"headers": {"Vary": "Origin"}},
            "converted": {"json": {"date": datetime.date(2024, 1, 2),
                                   "uuid": uuid.UUID(int=1),
                                   "decimal": decimal.Decimal("1.5"),
                                   "tuple": (1, 2)}},
            "jsno": {"jsno": {"a": 1}},
            "statuscode": {"statuscode": 201},
            "header": {"header": {"X-A": "1"}},
            "Location": {"Location": "/x"},
            "duplicate": {"status": 201, "statusCode": 202},
            "bad_status": {"status": "200"},
            "bad_status_range": {"status": 99},
            "bad_headers": {"headers": {"X-A": "1\\r\\nX-Injected: 1"}},
            "bad_session": {"session": ["not", "a", "dict"]},
            "unserializable": {"json": {"x": object()}},
            "circular": {"json": CIRCULAR},
            "list": [1, 2],
        }

        async def get(req):
            return CASES[req.query["case"]]

        def post(req):
            return CASES[req.query["case"]]
    """,
    "app/api/loc.py": """
        async def handler(req):
            out = {"location": "/target"}
            if "status" in req.query:
                out["status"] = int(req.query["status"])
            if "json" in req.query:
                out["json"] = {"saved": True}
            return out
    """,
    "app/api/raw.py": """
        from aiohttp import web

        async def get(req):
            return web.Response(status=418, text="short and stout", headers={"X-Raw": "yes"})

        async def post(req):
            return web.json_response({"raw": True}, status=202, headers={"Cache-Control": "max-age=5"})

        def put(req):
            return web.Response(text="sync raw")

        async def patch(req):
            resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
            await resp.prepare(req.raw)
            await resp.write(b"streamed ")
            await resp.write(b"body")
            return resp
    """,
    "app/api/httpexc.py": """
        from aiohttp import web

        async def get(req):
            raise web.HTTPForbidden(text="go away", headers={"X-Why": "raised"})

        async def post(req):
            raise web.HTTPSeeOther("/elsewhere")

        def put(req):
            raise web.HTTPConflict(text="sync conflict")
    """,
    # --- errors ----------------------------------------------------------------------------
    "app/api/boom.py": """
        def helper():
            raise ValueError("kaboom")

        async def get(req):
            helper()

        def post(req):
            return 1 / 0
    """,
    "app/api/exit.py": """
        import sys

        async def get(req):
            sys.exit(3)

        def post(req):
            sys.exit("bye")
    """,
    "app/api/broken.py": """
        async def get(req):
            return {}

        raise RuntimeError("broken at import")
    """,
    "app/api/health.py": """
        import os

        async def get(req):
            return {"json": {"ok": True, "pid": os.getpid()}}
    """,
}
BOOM_HELPER_LINE = 2  # `raise ValueError("kaboom")` in app/api/boom.py
BOOM_SYNC_LINE = 8  # `return 1 / 0`


def line_of(rel: str, text: str) -> int:
    """The line of ``text`` in the app file ``rel`` as write_app writes it (dedented)."""
    lines = textwrap.dedent(APP[rel]).lstrip("\n").splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.startswith(text))


# --- a raw HTTP client ------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        assert self.headers["Content-Type"].startswith("application/json"), self.headers
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def fetch(url: str, method: str = "GET", path: str = "/", *, accept: str | None = JSON,
          headers: dict[str, str] | None = None, body: bytes | None = None,
          chunked: bool = False) -> Reply:
    """One request on a fresh connection; nothing is followed, nothing is stored."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    sent = {"Accept": accept} if accept is not None else {}
    sent.update(headers or {})
    try:
        if chunked:
            chunks = [body[i:i + 100] for i in range(0, len(body or b""), 100)]
            conn.request(method, path, body=iter(chunks), headers=sent, encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=sent)
        resp = conn.getresponse()
        return Reply(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def form(fields: list[tuple[str, str]]) -> tuple[bytes, dict[str, str]]:
    return (urllib.parse.urlencode(fields).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"})


def multipart(fields: list[tuple[str, str]],
              files: list[tuple[str, str, str | None, bytes]]) -> tuple[bytes, dict[str, str]]:
    """``files`` are ``(field, filename, content_type or None, data)``."""
    boundary = "----devserver-test-boundary"
    out = b""
    for name, value in fields:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                f"{value}\r\n").encode()
    for name, filename, ctype, data in files:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                f"filename=\"{filename}\"\r\n").encode()
        if ctype is not None:
            out += f"Content-Type: {ctype}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def send_json(value: Any) -> tuple[bytes, dict[str, str]]:
    return json.dumps(value).encode(), {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = write_app(tmp_path_factory.mktemp("api-contract"), APP)
    running = start_server(root, "--max-body", str(MAX_BODY))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def url(server: Server) -> str:
    return server.url


# --- handler names ------------------------------------------------------------------------------


def test_destroy_is_an_alias_for_delete(url: str) -> None:
    reply = fetch(url, "DELETE", "/names/destroy")
    assert reply.status == 200
    assert reply.json() == {"handler": "destroy", "method": "DELETE"}


def test_delete_wins_over_destroy_when_both_exist(url: str) -> None:
    assert fetch(url, "DELETE", "/names/both").json() == {"handler": "delete"}


def test_handler_answers_methods_not_exported_by_name(url: str) -> None:
    assert fetch(url, "GET", "/names/fallback").json() == {"handler": "get", "method": "GET"}
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        reply = fetch(url, method, "/names/fallback")
        assert reply.status == 200, method
        assert reply.json() == {"handler": "handler", "method": method}


def test_handler_alone_answers_every_method_and_head(url: str) -> None:
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        assert fetch(url, method, "/names/only_handler").json()["method"] == method
    head = fetch(url, "HEAD", "/names/only_handler")
    assert (head.status, head.body, head.header("X-Handler")) == (200, b"", "handler")


def test_each_named_handler_gets_its_method(url: str) -> None:
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        reply = fetch(url, method, "/methods")
        assert reply.json()["handler"] == method.lower()
        assert reply.json()["method"] == method


# --- sync handlers ------------------------------------------------------------------------------


def test_sync_handler_runs_in_a_thread(url: str) -> None:
    sync = fetch(url, "GET", "/sync").json()
    assert sync["thread"] != "MainThread"
    assert fetch(url, "POST", "/sync").json()["thread"] == "MainThread"  # async: on the loop


def test_a_blocking_sync_handler_does_not_stall_the_server(url: str) -> None:
    slow: list[float] = []

    def call_slow() -> None:
        started = time.monotonic()
        fetch(url, "GET", "/sync?sleep=1.5")
        slow.append(time.monotonic() - started)

    thread = threading.Thread(target=call_slow)
    thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    assert fetch(url, "GET", "/health").status == 200
    fast = time.monotonic() - started
    thread.join()
    assert fast < 1.0 < slow[0]


# --- HEAD, OPTIONS, 405 -------------------------------------------------------------------------


def test_head_is_answered_by_get_without_a_body(url: str) -> None:
    get = fetch(url, "GET", "/head")
    head = fetch(url, "HEAD", "/head")
    assert head.status == 200
    assert head.body == b""
    assert head.header("X-From-Get") == "1"
    assert head.header("X-Method") == "HEAD"  # `get` sees the real method
    assert head.header("Content-Type") == get.header("Content-Type")
    assert head.header("Content-Length") == get.header("Content-Length")


def test_head_from_a_sync_get(url: str) -> None:
    head = fetch(url, "HEAD", "/sync")
    assert (head.status, head.body, head.header("X-Sync")) == (200, b"", "yes")


def test_options_answers_204_with_allow(url: str) -> None:
    reply = fetch(url, "OPTIONS", "/names/destroy")
    assert reply.status == 204
    assert reply.body == b""
    assert reply.header("Allow") == "DELETE, GET, HEAD, OPTIONS"
    assert fetch(url, "OPTIONS", "/names/post_only").header("Allow") == "OPTIONS, POST"
    every = fetch(url, "OPTIONS", "/names/only_handler")
    assert every.status == 204
    assert every.header("Allow") == "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"


def test_missing_method_answers_405_with_allow(url: str) -> None:
    reply = fetch(url, "GET", "/names/post_only")
    assert reply.status == 405
    assert reply.header("Allow") == "OPTIONS, POST"
    error = reply.json()["error"]
    assert error["status"] == 405
    assert error["allow"] == ["OPTIONS", "POST"]
    assert "GET" in error["message"]
    head = fetch(url, "HEAD", "/names/post_only")
    assert (head.status, head.header("Allow")) == (405, "OPTIONS, POST")
    put = fetch(url, "PUT", "/names/destroy", accept=HTML)
    assert put.status == 405
    assert put.header("Allow") == "DELETE, GET, HEAD, OPTIONS"
    assert put.header("Content-Type").startswith("text/html")
    assert "405" in put.text


def test_405_does_not_run_any_handler(url: str) -> None:
    before = fetch(url, "GET", "/counter").json()["calls"]
    assert fetch(url, "DELETE", "/counter").status == 405
    assert fetch(url, "GET", "/counter").json()["calls"] == before


# --- _method from HTML forms --------------------------------------------------------------------


@pytest.mark.parametrize("wanted", ["delete", "put", "patch", "DELETE", "Put"])
def test_form_post_may_override_the_method(url: str, wanted: str) -> None:
    body, headers = form([("_method", wanted), ("name", "ann")])
    reply = fetch(url, "POST", "/methods", accept=HTML, headers=headers, body=body)
    assert reply.status == 200
    assert reply.json() == {"handler": wanted.lower(), "method": wanted.upper(), "body": {"name": "ann"}}


def test_multipart_form_may_override_the_method(url: str) -> None:
    body, headers = multipart([("_method", "patch"), ("name", "ann")], [])
    reply = fetch(url, "POST", "/methods", accept=HTML, headers=headers, body=body)
    assert reply.json() == {"handler": "patch", "method": "PATCH", "body": {"name": "ann"}}


def test_override_reaches_destroy_and_handler(url: str) -> None:
    body, headers = form([("_method", "delete")])
    assert fetch(url, "POST", "/names/destroy", headers=headers, body=body).json() == {
        "handler": "destroy", "method": "DELETE"}
    assert fetch(url, "POST", "/names/fallback", headers=headers, body=body).json() == {
        "handler": "handler", "method": "DELETE"}


def test_override_only_from_a_form_post(url: str) -> None:
    # Not from JSON, not from the query string, not on other methods, not to GET/POST/unknown.
    body, headers = send_json({"_method": "delete"})
    assert fetch(url, "POST", "/methods", headers=headers, body=body).json()["handler"] == "post"
    assert fetch(url, "POST", "/methods?_method=delete").json()["handler"] == "post"
    body, headers = form([("_method", "delete")])
    assert fetch(url, "PUT", "/methods", headers=headers, body=body).json() == {
        "handler": "put", "method": "PUT", "body": {"_method": "delete"}}
    for other in ("get", "post", "options", "trace", ""):
        body, headers = form([("_method", other), ("a", "1")])
        reply = fetch(url, "POST", "/methods", headers=headers, body=body)
        assert reply.json() == {"handler": "post", "method": "POST", "body": {"a": "1"}}, other


def test_override_to_a_missing_method_is_405(url: str) -> None:
    body, headers = form([("_method", "put")])
    reply = fetch(url, "POST", "/names/post_only", headers=headers, body=body)
    assert reply.status == 405
    assert reply.header("Allow") == "OPTIONS, POST"


# --- req ------------------------------------------------------------------------------------------


def test_req_fields(url: str) -> None:
    body, headers = send_json({"n": 1})
    reply = fetch(url, "PATCH", "/inspect/42?a=1&a=2&b=x&c=&d=%20y&e",
                  headers={**headers, "X-Custom": "hello"}, body=body)
    assert reply.status == 200
    data = reply.json()
    assert data["method"] == "PATCH"
    assert data["path"] == "/inspect/42"
    assert data["params"] == {"id": "42"}
    assert data["query"] == {"a": ["1", "2"], "b": "x", "c": "", "d": " y", "e": ""}
    assert data["lower"] == data["upper"] == data["mixed"] == "hello"
    assert data["body"] == {"n": 1}
    assert data["session"] == {}
    assert data["session_type"] == "dict"
    assert data["raw_is_request"] is True
    assert data["raw_path_qs"] == "/inspect/42?a=1&a=2&b=x&c=&d=%20y&e"


def test_req_params_are_percent_decoded_and_catch_all_is_a_list(url: str) -> None:
    data = fetch(url, "GET", "/inspect/a%2Fb%20c").json()
    assert data["params"] == {"id": "a/b c"}
    assert fetch(url, "GET", "/files/a/b/c.txt").json()["params"] == {"rest": ["a", "b", "c.txt"]}


# --- req.body -------------------------------------------------------------------------------------


def test_json_body_is_parsed(url: str) -> None:
    for value in ({"a": [1, {"b": None}]}, [1, 2], "text", 3.5, True):
        body, headers = send_json(value)
        data = fetch(url, "POST", "/inspect/1", headers=headers, body=body).json()
        assert data["body"] == value
    body, _ = send_json({"vendor": 1})
    data = fetch(url, "POST", "/inspect/1", headers={"Content-Type": "application/vnd.x+json"},
                 body=body).json()
    assert data["body"] == {"vendor": 1}
    data = fetch(url, "POST", "/inspect/1", headers={"Content-Type": "application/json; charset=utf-8"},
                 body="{\"ü\": \"é\"}".encode()).json()
    assert data["body"] == {"ü": "é"}


def test_urlencoded_body_is_a_dict_with_lists_for_repeated_keys(url: str) -> None:
    body, headers = form([("a", "1"), ("b", "x y"), ("a", "2"), ("c", "")])
    reply = fetch(url, "POST", "/body", headers=headers, body=body)
    assert reply.json() == {"dict": {"a": {"list": [{"str": "1"}, {"str": "2"}]},
                                     "b": {"str": "x y"}, "c": {"str": ""}}}


def test_multipart_body_has_fields_and_files(url: str) -> None:
    body, headers = multipart(
        [("title", "report"), ("tag", "a"), ("tag", "b")],
        [("upload", "notes.txt", "text/plain", b"hello\x00world"),
         ("blob", "data.bin", None, b"\xff\xfe")])
    reply = fetch(url, "POST", "/body", headers=headers, body=body)
    assert reply.status == 200
    assert reply.json() == {"dict": {
        "title": {"str": "report"},
        "tag": {"list": [{"str": "a"}, {"str": "b"}]},
        "upload": {"file": {"filename": "notes.txt", "content_type": "text/plain",
                            "data": "hello\x00world", "data_type": "bytes"}},
        "blob": {"file": {"filename": "data.bin", "content_type": "application/octet-stream",
                          "data": "\xff\xfe", "data_type": "bytes"}},
    }}


def test_other_content_types_are_bytes(url: str) -> None:
    for ctype in ("text/plain", "application/octet-stream", "application/xml"):
        reply = fetch(url, "POST", "/body", headers={"Content-Type": ctype}, body=b"<a>\xff</a>")
        assert reply.json() == {"bytes": "<a>\xff</a>"}, ctype
    reply = fetch(url, "POST", "/body", body=b"no content type")
    assert reply.json() == {"bytes": "no content type"}


def test_empty_body_is_an_empty_dict(url: str) -> None:
    assert fetch(url, "GET", "/body").json() == {"dict": {}}
    assert fetch(url, "POST", "/body").json() == {"dict": {}}
    for ctype in ("application/json", "text/plain", "application/x-www-form-urlencoded"):
        reply = fetch(url, "POST", "/body", headers={"Content-Type": ctype}, body=b"")
        assert reply.json() == {"dict": {}}, ctype
    assert fetch(url, "POST", "/body", headers={"Content-Type": "application/json"}, body=b"",
                 chunked=True).json() == {"dict": {}}


def test_json_null_is_none(url: str) -> None:
    reply = fetch(url, "POST", "/body", headers={"Content-Type": "application/json"}, body=b"null")
    assert reply.json() == {"NoneType": None}


@pytest.mark.parametrize(("raw", "detail"), [
    (b"{\"a\": 1,}", "Expecting property name enclosed in double quotes"),
    (b"{\"a\": ", "Expecting value"),
    (b"not json", "Expecting value"),
    (b"{\"a\": \"\xff\"}", "not UTF-8"),
])
def test_malformed_json_is_400_before_the_handler_runs(url: str, raw: bytes, detail: str) -> None:
    before = fetch(url, "GET", "/counter").json()["calls"]
    reply = fetch(url, "POST", "/counter", headers={"Content-Type": "application/json"}, body=raw)
    assert reply.status == 400
    message = reply.json()["error"]["message"]
    assert "malformed JSON" in message and detail in message
    page = fetch(url, "PUT", "/counter", accept=HTML, headers={"Content-Type": "application/json"},
                 body=raw)
    assert page.status == 400
    assert page.header("Content-Type").startswith("text/html")
    assert "malformed JSON" in page.text
    assert fetch(url, "GET", "/counter").json()["calls"] == before


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_at_the_limit_is_accepted(url: str, chunked: bool) -> None:
    reply = fetch(url, "POST", "/body", headers={"Content-Type": "text/plain"},
                  body=b"x" * MAX_BODY, chunked=chunked)
    assert reply.status == 200
    assert reply.json() == {"bytes": "x" * MAX_BODY}


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("ctype", ["text/plain", "application/json",
                                   "application/x-www-form-urlencoded"])
def test_body_over_the_limit_is_413_before_the_handler_runs(url: str, chunked: bool,
                                                            ctype: str) -> None:
    before = fetch(url, "GET", "/counter").json()["calls"]
    body = b"[" + b" " * (MAX_BODY - 1) + b"]" if ctype == "application/json" else b"a" * (MAX_BODY + 1)
    assert len(body) == MAX_BODY + 1
    reply = fetch(url, "POST", "/counter", headers={"Content-Type": ctype}, body=body, chunked=chunked)
    assert reply.status == 413
    message = reply.json()["error"]["message"]
    assert str(MAX_BODY) in message and "--max-body" in message
    assert fetch(url, "GET", "/counter").json()["calls"] == before


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_multipart_over_the_limit_is_413(url: str, chunked: bool) -> None:
    body, headers = multipart([("a", "b")], [("f", "big.bin", "application/octet-stream",
                                               b"z" * (2 * MAX_BODY))])
    reply = fetch(url, "POST", "/counter", headers=headers, body=body, chunked=chunked)
    assert reply.status == 413


def test_413_for_an_html_client_is_a_page(url: str) -> None:
    reply = fetch(url, "POST", "/body", accept=HTML, headers={"Content-Type": "text/plain"},
                  body=b"x" * (MAX_BODY + 1))
    assert reply.status == 413
    assert reply.header("Content-Type").startswith("text/html")
    assert "--max-body" in reply.text


# --- the returned dict ----------------------------------------------------------------------------


def result(url: str, case: str, *, method: str = "GET", accept: str | None = JSON) -> Reply:
    return fetch(url, method, f"/result?case={case}", accept=accept)


def test_json_is_the_body(url: str) -> None:
    reply = result(url, "json")
    assert (reply.status, reply.json()) == (200, {"a": [1, 2], "b": None})
    assert result(url, "json_list").json() == [1, "two"]
    assert result(url, "json_null").json() is None


def test_none_and_missing_json_answer_an_empty_object(url: str) -> None:
    for case in ("none", "empty"):
        reply = result(url, case)
        assert (reply.status, reply.json()) == (200, {}), case
    reply = result(url, "no_json_418")
    assert (reply.status, reply.json()) == (418, {})


@pytest.mark.parametrize(("case", "status"), [
    ("statusCode", 201), ("status_code", 202), ("code", 203), ("status", 404),
])
def test_status_and_its_aliases(url: str, case: str, status: int) -> None:
    reply = result(url, case)
    assert reply.status == status
    assert reply.json() == ({"alias": case} if case != "status" else {"error": "no such user"})


def test_204_and_304_have_no_body(url: str) -> None:
    for case, status in (("204", 204), ("304", 304)):
        reply = result(url, case)
        assert (reply.status, reply.body) == (status, b""), case


@pytest.mark.parametrize(("case", "value"), [
    ("cacheControl", "no-store"), ("cache_control", "max-age=60"), ("header_cache", "private"),
])
def test_cache_control_and_its_alias(url: str, case: str, value: str) -> None:
    assert result(url, case).headers.get_all("Cache-Control") == [value]


def test_headers(url: str) -> None:
    reply = result(url, "headers")
    assert (reply.header("X-One"), reply.header("X-Two")) == ("1", "2")


def test_a_content_type_header_replaces_application_json(url: str) -> None:
    reply = result(url, "content_type")
    assert reply.status == 200
    assert reply.headers.get_all("Content-Type") == ["application/vnd.api+json"]
    assert json.loads(reply.body) == {"a": 1}


def test_json_converts_dates_uuids_decimals_and_tuples(url: str) -> None:
    assert result(url, "converted").json() == {
        "date": "2024-01-02", "uuid": "00000000-0000-0000-0000-000000000001", "decimal": "1.5",
        "tuple": [1, 2]}


@pytest.mark.parametrize(("key", "suggestion"), [
    ("jsno", "json"), ("statuscode", "statusCode"), ("header", "headers"), ("Location", "location"),
])
def test_unknown_key_is_500_naming_it_and_suggesting(url: str, key: str, suggestion: str) -> None:
    for method in ("GET", "POST"):  # async and sync handlers
        reply = result(url, key, method=method)
        assert reply.status == 500
        error = reply.json()["error"]
        assert f"'{key}'" in error["message"]
        assert f"did you mean `{suggestion}`" in error["message"]
        assert "app/api/result.py" in error["message"]
        handler = "async def get(" if method == "GET" else "def post("
        assert (error["file"], error["line"]) == ("app/api/result.py",
                                                  line_of("app/api/result.py", handler))
    page = result(url, key, accept=HTML)
    assert page.status == 500
    assert page.header("Content-Type").startswith("text/html")
    assert f"app/api/result.py:{line_of('app/api/result.py', 'async def get(')}" in page.text
    assert f"did you mean <code>{suggestion}</code>" in page.text or f"`{suggestion}`" in page.text


@pytest.mark.parametrize(("case", "words"), [
    ("duplicate", ["`status`", "`statusCode`"]),
    ("bad_status", ["`status`", "'200'"]),
    ("bad_status_range", ["`status`", "99"]),
    ("bad_headers", ["X-A", "line break"]),
    ("bad_session", ["`session`", "dict"]),
    ("unserializable", ["`json`", "object"]),
    ("circular", ["`json`", "Circular reference detected"]),
    ("list", ["returned list"]),
])
def test_invalid_results_are_500s_that_say_why(url: str, case: str, words: list[str]) -> None:
    reply = result(url, case)
    assert reply.status == 500
    message = reply.json()["error"]["message"]
    for word in words:
        assert word in message, (case, message)


def test_an_aiohttp_response_passes_through(url: str) -> None:
    reply = fetch(url, "GET", "/raw")
    assert (reply.status, reply.text, reply.header("X-Raw")) == (418, "short and stout", "yes")
    assert reply.header("Content-Type").startswith("text/plain")
    posted = fetch(url, "POST", "/raw")
    assert (posted.status, posted.json()) == (202, {"raw": True})
    assert posted.headers.get_all("Cache-Control") == ["max-age=5"]
    put = fetch(url, "PUT", "/raw")
    assert (put.status, put.text) == (200, "sync raw")
    streamed = fetch(url, "PATCH", "/raw")
    assert (streamed.status, streamed.text) == (200, "streamed body")


def test_a_raised_http_exception_is_the_answer(url: str) -> None:
    reply = fetch(url, "GET", "/httpexc")
    assert (reply.status, reply.text, reply.header("X-Why")) == (403, "go away", "raised")
    posted = fetch(url, "POST", "/httpexc")
    assert (posted.status, posted.header("Location")) == (303, "/elsewhere")
    put = fetch(url, "PUT", "/httpexc")
    assert (put.status, put.text) == (409, "sync conflict")


# --- location -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "query", "status"), [
    ("GET", "", 302),
    ("HEAD", "", 302),
    ("POST", "", 303),
    ("PUT", "", 303),
    ("PATCH", "", 303),
    ("DELETE", "", 303),
    ("GET", "?status=301", 301),
    ("POST", "?status=307", 307),
    ("POST", "?status=308&json=1", 308),
    ("POST", "?status=201", 303),  # a non-3xx status does not stop an HTML client's redirect
])
def test_location_redirects_html_clients(url: str, method: str, query: str, status: int) -> None:
    for accept in (HTML, None, "*/*"):
        reply = fetch(url, method, f"/loc{query}", accept=accept)
        assert reply.status == status, (method, query, accept)
        assert reply.header("Location") == "/target"
        assert reply.body == b""


def test_location_after_a_form_override_is_303(url: str) -> None:
    body, headers = form([("_method", "delete")])
    reply = fetch(url, "POST", "/loc", accept=HTML, headers=headers, body=body)
    assert (reply.status, reply.header("Location")) == (303, "/target")


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
@pytest.mark.parametrize("query", ["", "?status=302", "?status=301", "?status=307"])
def test_json_clients_are_not_redirected(url: str, method: str, query: str) -> None:
    reply = fetch(url, method, f"/loc{query}&json=1" if query else "/loc?json=1")
    assert reply.status == 200
    assert reply.json() == {"saved": True}
    assert reply.header("Location") is None
    bare = fetch(url, method, f"/loc{query}")
    assert (bare.status, bare.json()) == (200, {})


@pytest.mark.parametrize("status", [201, 202, 404])
def test_json_clients_keep_location_with_a_non_3xx_status(url: str, status: int) -> None:
    reply = fetch(url, "POST", f"/loc?status={status}&json=1")
    assert reply.status == status
    assert reply.header("Location") == "/target"
    assert reply.json() == {"saved": True}


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "kind", "line", "text"), [
    ("GET", "ValueError", BOOM_HELPER_LINE, "kaboom"),
    ("POST", "ZeroDivisionError", BOOM_SYNC_LINE, "division by zero"),
])
def test_handler_error_as_json_in_dev(url: str, method: str, kind: str, line: int, text: str) -> None:
    reply = fetch(url, method, "/boom")
    assert reply.status == 500
    error = reply.json()["error"]
    assert error["status"] == 500
    assert error["type"] == kind
    assert (error["file"], error["line"]) == ("app/api/boom.py", line)
    assert f"app/api/boom.py:{line}" in error["message"] and text in error["message"]
    assert "Traceback (most recent call last)" in error["traceback"]
    assert "boom.py" in error["traceback"]


@pytest.mark.parametrize(("method", "line", "text"), [
    ("GET", BOOM_HELPER_LINE, "kaboom"), ("POST", BOOM_SYNC_LINE, "division by zero"),
])
def test_handler_error_as_html_in_dev(url: str, method: str, line: int, text: str) -> None:
    for accept in (HTML, None, "*/*"):
        reply = fetch(url, method, "/boom", accept=accept)
        assert reply.status == 500
        assert reply.header("Content-Type").startswith("text/html")
        assert f"app/api/boom.py:{line}" in reply.text
        assert "Traceback (most recent call last)" in reply.text
        assert text in reply.text


def test_a_module_that_fails_to_import_is_a_500_for_its_route_only(url: str) -> None:
    reply = fetch(url, "GET", "/broken")
    assert reply.status == 500
    error = reply.json()["error"]
    assert "broken at import" in error["message"]
    assert (error["file"], error["line"]) == ("app/api/broken.py", 4)
    assert fetch(url, "GET", "/health").status == 200


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sys_exit_in_a_handler_is_a_500_and_the_server_stays_up(server: Server, method: str) -> None:
    worker = fetch(server.url, "GET", "/health").json()["pid"]
    reply = fetch(server.url, method, "/exit")
    assert reply.status == 500
    error = reply.json()["error"]
    assert error["type"] == "SystemExit"
    assert "sys.exit" in error["message"]
    time.sleep(0.1)
    assert server.proc.poll() is None
    assert fetch(server.url, "GET", "/health").json() == {"ok": True, "pid": worker}  # not restarted


# --- headers every response gets ------------------------------------------------------------------


EVERY_KIND = [  # (method, path, (content type, body) or None, status for JSON, for HTML)
    ("GET", "/health", None, 200, 200),
    ("OPTIONS", "/health", None, 204, 204),
    ("GET", "/names/post_only", None, 405, 405),
    ("GET", "/nowhere", None, 404, 404),
    ("POST", "/counter", ("application/json", b"{"), 400, 400),
    ("POST", "/counter", ("text/plain", b"x" * (MAX_BODY + 1)), 413, 413),
    ("GET", "/boom", None, 500, 500),
    ("GET", "/broken", None, 500, 500),
    ("GET", "/result?case=jsno", None, 500, 500),
    ("GET", "/loc", None, 200, 302),
    ("HEAD", "/head", None, 200, 200),
    ("GET", "/raw", None, 418, 418),
]


@pytest.mark.parametrize(("method", "path", "payload", "json_status", "html_status"), EVERY_KIND)
def test_every_response_varies_on_accept_and_is_not_cached_in_dev(
        url: str, method: str, path: str, payload: tuple[str, bytes] | None, json_status: int,
        html_status: int) -> None:
    headers = {"Content-Type": payload[0]} if payload else {}
    for accept, status in ((JSON, json_status), (HTML, html_status)):
        reply = fetch(url, method, path, accept=accept, headers=headers,
                      body=payload[1] if payload else None)
        assert reply.status == status
        assert "Accept" in (reply.header("Vary") or ""), (method, path)
        assert reply.header("Cache-Control") in ("no-cache", "no-store"), (method, path)


def test_no_cache_in_dev_unless_the_handler_set_one(url: str) -> None:
    assert result(url, "json").header("Cache-Control") == "no-cache"
    assert result(url, "cacheControl").headers.get_all("Cache-Control") == ["no-store"]
    assert fetch(url, "GET", "/raw").header("Cache-Control") == "no-cache"
    assert fetch(url, "GET", "/httpexc").header("Cache-Control") == "no-cache"


def test_a_handlers_vary_is_kept_and_accept_added(url: str) -> None:
    vary = result(url, "vary").header("Vary") or ""
    assert {v.strip() for v in vary.split(",")} == {"Origin", "Accept"}


# --- outside dev, in-process --------------------------------------------------------------------


@pytest.fixture
def prod_root(tmp_path: Path) -> Path:
    return write_app(tmp_path, APP)


def _leaks(text: str, root: Path) -> list[str]:
    words = ["Traceback", "app/api", "boom.py", "result.py", "broken.py", str(root), "kaboom",
             "division by zero", "jsno", "sys.exit", "broken at import", 'File "']
    return [w for w in words if w in text]


PROD_FAILURES = [
    ("GET", "/boom"), ("POST", "/boom"), ("GET", "/result?case=jsno"),
    ("GET", "/result?case=unserializable"), ("GET", "/exit"), ("POST", "/exit"), ("GET", "/broken"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("method", "path"), PROD_FAILURES)
async def test_outside_dev_errors_show_no_traceback_or_path(
        aiohttp_client: Any, prod_root: Path, method: str, path: str) -> None:
    client = await aiohttp_client(create_app(prod_root, dev=False))
    resp = await client.request(method, path, headers={"Accept": JSON})
    assert resp.status == 500
    body = await resp.json()
    assert body == {"error": {"status": 500, "message": "Internal Server Error"}}
    resp = await client.request(method, path, headers={"Accept": HTML})
    assert resp.status == 500
    assert resp.content_type == "text/html"
    text = await resp.text()
    assert "Internal Server Error" in text
    assert _leaks(text, prod_root) == []


@pytest.mark.asyncio
async def test_outside_dev_the_contract_still_holds(aiohttp_client: Any, prod_root: Path) -> None:
    client = await aiohttp_client(create_app(prod_root, dev=False))
    resp = await client.get("/result?case=json")
    assert (resp.status, await resp.json()) == (200, {"a": [1, 2], "b": None})
    assert "Cache-Control" not in resp.headers  # no-cache is a dev-only default
    assert resp.headers["Vary"] == "Accept"
    resp = await client.get("/names/post_only", headers={"Accept": JSON})
    assert (resp.status, resp.headers["Allow"]) == (405, "OPTIONS, POST")
    resp = await client.post("/counter", data=b"{", headers={"Content-Type": "application/json",
                                                            "Accept": JSON})
    assert resp.status == 400
    assert "Expecting" in (await resp.json())["error"]["message"]
    resp = await client.get("/nowhere", headers={"Accept": JSON})
    assert resp.status == 404
    assert set((await resp.json())["error"]) == {"status", "message"}
    resp = await client.get("/loc", headers={"Accept": HTML}, allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (302, "/target")
    data = FormData()
    data.add_field("title", "report")
    data.add_field("upload", b"\x00\x01", filename="a.bin", content_type="application/x-test")
    resp = await client.post("/body", data=data)
    assert await resp.json() == {"dict": {
        "title": {"str": "report"},
        "upload": {"file": {"filename": "a.bin", "content_type": "application/x-test",
                            "data": "\x00\x01", "data_type": "bytes"}}}}


@pytest.mark.asyncio
async def test_default_body_limit_is_10_mib(aiohttp_client: Any, prod_root: Path) -> None:
    client = await aiohttp_client(create_app(prod_root, dev=False))
    limit = 10 * 1024 * 1024
    resp = await client.post("/body", data=io.BytesIO(b"x" * limit),
                             headers={"Content-Type": "text/plain"})
    assert resp.status == 200
    resp = await client.post("/body", data=io.BytesIO(b"x" * (limit + 1)),
                             headers={"Content-Type": "text/plain"})
    assert resp.status == 413


@pytest.mark.asyncio
async def test_create_app_max_body(aiohttp_client: Any, prod_root: Path) -> None:
    client = await aiohttp_client(create_app(prod_root, dev=False, max_body=10))

    async def chunks(data: bytes) -> Any:
        yield data

    resp = await client.post("/body", data=b"x" * 10, headers={"Content-Type": "text/plain"})
    assert resp.status == 200
    resp = await client.post("/body", data=chunks(b"x" * 11), headers={"Content-Type": "text/plain"})
    assert resp.status == 413
