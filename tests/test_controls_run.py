"""A real ``devserver run --port 0 --ready-file PATH``, driven by a plain HTTP client the way a JS
test runner would: wait for the file, then set controls and read the journal over HTTP."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import write_app

APP = {
    "app/api/index.py": """
        async def get(req):
            return {"json": {"home": True}}
    """,
    "app/api/users/$id.py": """
        async def get(req):
            return {"json": {"id": req.params["id"]}}

        async def post(req):
            return {"status": 201, "json": {"saved": req.body}}
    """,
}
START_TIMEOUT = 60.0


@dataclass
class Run:
    proc: subprocess.Popen[bytes]
    ready_file: Path
    log: Path
    url: str = ""

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def request(self, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Accept": "application/json", **({"Content-Type": "application/json"} if data else {}),
                **(headers or {})}
        try:
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else None
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start(root: Path, tmp: Path, *args: str) -> Run:
    """``devserver run ROOT --port 0 --ready-file PATH ...``, waiting for PATH like a JS runner."""
    ready, log = tmp / "ready.txt", tmp / "server.log"
    ready.write_text("http://stale.invalid:1\n")  # a previous run's file must not look ready
    cmd = [sys.executable, "-m", "devserver", "run", str(root), "--port", "0", "--ready-file",
           str(ready), *args]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=str(tmp),
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    run = Run(proc, ready, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        if ready.exists() and "stale" not in (text := ready.read_text()):
            run.url = text.strip()
            return run
        time.sleep(0.05)
    run.stop()
    raise AssertionError(f"no ready file within {START_TIMEOUT} s:\n{run.output}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """One supervised ``devserver run --cors`` (reload on: the ready file comes from the worker)."""
    tmp = tmp_path_factory.mktemp("run")
    run = start(write_app(tmp / "project", APP), tmp, "--cors")
    yield run
    run.stop()


@pytest.fixture
def live(server: Run) -> Run:
    status, _, body = server.request("POST", "/__devserver/api/reset")
    assert status == 200, body
    return server


def test_the_ready_file_holds_the_printed_url(live: Run) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", live.url)
    assert live.ready_file.read_text() == live.url + "\n"
    assert f"at {live.url}/ (2 routes)" in live.output
    assert live.request("GET", "/")[0] == 200


def test_controls_over_http_from_a_plain_client(live: Run) -> None:
    status, _, body = live.request("POST", "/__devserver/api/controls",
                                   {"route": "users/[id]", "status": 503, "times": 1})
    assert status == 201 and body["control"]["route"] == "users/$id"
    status, _, body = live.request("GET", "/users/1")
    assert status == 503 and "devserver control #1" in body["error"]["message"]
    assert live.request("GET", "/users/1")[0] == 200  # times: 1

    live.request("POST", "/__devserver/api/controls", {"path": "/users/2", "delay_ms": 400})
    started = time.perf_counter()
    assert live.request("GET", "/users/2")[0] == 200
    assert time.perf_counter() - started >= 0.4

    live.request("POST", "/__devserver/api/controls", {"path": "/", "drop": True, "method": "GET"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        live.request("GET", "/")
    assert live.request("POST", "/", {})[0] == 405  # another method: not dropped

    status, _, body = live.request("GET", "/__devserver/api/controls")
    assert [c["action"] for c in body["controls"]] == ["status 503", "delay 400 ms", "drop"]
    assert live.request("DELETE", "/__devserver/api/controls")[2] == {"removed": 3}
    assert live.request("GET", "/")[0] == 200


def test_the_journal_over_http(live: Run) -> None:
    live.request("POST", "/users/7", {"name": "Ada"})
    status, _, body = live.request("GET", "/__devserver/api/journal")
    assert status == 200 and body["total"] == 1
    (entry,) = body["requests"]
    assert {k: entry[k] for k in ("method", "path", "route", "params", "status", "body")} == {
        "method": "POST", "path": "/users/7", "route": "users/$id", "params": {"id": "7"},
        "status": 201, "body": '{"name": "Ada"}'}

    status, _, body = live.request("POST", "/__devserver/api/journal/assert",
                                   {"method": "POST", "path": "/users/7", "json": {"name": "Ada"}})
    assert status == 200 and body["ok"] is True
    status, _, body = live.request("POST", "/__devserver/api/journal/assert",
                                   {"method": "POST", "path": "/user/7"})
    assert status == 409
    assert "POST /users/7 -> 201 (route users/$id; id='7')" in body["message"]
    assert "Routing POST /user/7: no route matches /user/7" in body["message"]
    assert live.request("DELETE", "/__devserver/api/journal")[2] == {"cleared": 1}


def test_cors_flag(live: Run) -> None:
    origin = {"Origin": "http://localhost:5173"}
    status, headers, _ = live.request("OPTIONS", "/users/1", headers={
        **origin, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"})
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert "PUT" in headers["Access-Control-Allow-Methods"]
    assert headers["Access-Control-Allow-Headers"] == "content-type"
    status, headers, _ = live.request("GET", "/users/1", headers=origin)
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert headers["Vary"] == "Accept, Origin"
    _, headers, _ = live.request("GET", "/__devserver/api/journal", headers={"Host": live.url[7:]})
    assert "Access-Control-Allow-Origin" not in headers  # never for devserver's own endpoints


def test_without_reload_and_without_cors(tmp_path: Path) -> None:
    run = start(write_app(tmp_path / "project", APP), tmp_path, "--no-reload")
    try:
        status, headers, _ = run.request("GET", "/", headers={"Origin": "http://localhost:5173"})
        assert status == 200 and "Access-Control-Allow-Origin" not in headers
        assert f"at {run.url}/" in run.output
    finally:
        run.stop()
    assert not run.ready_file.exists()  # removed on exit: a stale URL never looks ready


def test_a_ready_file_in_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    root = write_app(tmp_path / "project", APP)
    result = subprocess.run([sys.executable, "-m", "devserver", "run", str(root), "--port", "0",
                             "--ready-file", str(tmp_path / "nope" / "ready.txt")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "devserver: error: --ready-file" in result.stderr and "does not exist" in result.stderr
