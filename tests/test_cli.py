"""The command line as a user meets it: real processes, real output (DESIGN §7)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import REPO, start_server, write_app

APP = {
    "app/api/index.py": "async def get(req):\n    return {'json': {'home': True}}\n",
    "app/api/docs/quickstart.py": "async def get(req):\n    return {}\n",
    "app/api/docs/$slug.py": "async def get(req):\n    return {}\n\nasync def post(req):\n    return {}\n",
    "app/api/users/[id].py": "def get(req):\n    return {}\n",
    "app/api/users/[slug].py": "def get(req):\n    return {}\n",
}


def devserver(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devserver", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return write_app(tmp_path / "site", APP)


def test_routes_prints_the_table_in_precedence_order_and_the_problems(app: Path) -> None:
    done = devserver("routes", str(app))
    lines = done.stdout.splitlines()
    patterns = [line.split()[1] for line in lines[1:] if line and line[0].isdigit()]
    assert patterns == ["/", "/docs/quickstart", "/docs/$slug", "/users/[id]", "/users/[slug]"]
    assert "error: app/api/users/[id].py and app/api/users/[slug].py both map to /users/:param" \
        in done.stdout
    assert done.returncode == 1  # a route set with errors


def test_routes_json_is_for_tools(app: Path) -> None:
    data = json.loads(devserver("routes", str(app), "--json").stdout)
    assert [r["id"] for r in data["routes"]][:3] == ["index", "docs/quickstart", "docs/$slug"]
    slug = data["routes"][2]
    assert slug["methods"] == ["GET", "HEAD", "OPTIONS", "POST"]
    assert slug["params"] == [{"name": "slug", "kind": "dynamic"}]
    assert {p["rule"] for p in data["problems"]} == {"duplicate-route"}


def test_routes_defaults_to_the_current_folder(app: Path) -> None:
    assert "/docs/quickstart" in devserver("routes", cwd=app).stdout


def test_match_explains_winner_and_losers(app: Path) -> None:
    done = devserver("match", str(app), "/docs/glossary")
    assert done.returncode == 0
    assert "docs/$slug answers /docs/glossary" in done.stdout
    assert "static `quickstart` ≠ `glossary`" in done.stdout
    done = devserver("match", str(app), "/docs/quickstart")
    assert "outranked by docs/quickstart" in done.stdout
    done = devserver("match", str(app), "/docs/x", "--method", "DELETE")
    assert done.returncode == 1 and "method DELETE not exported: 405" in done.stdout
    done = devserver("match", str(app), "/nope/deeper", "--json")
    assert json.loads(done.stdout)["status"] == 404


def test_match_takes_the_path_alone_in_the_current_folder(app: Path) -> None:
    assert "docs/$slug answers" in devserver("match", "/docs/a", cwd=app).stdout


@pytest.mark.parametrize(("args", "message"), [
    (["run", "/no/such/folder"], "ROOT '/no/such/folder' does not exist"),
    (["routes", "/no/such/folder"], "does not exist"),
    (["run", "--port", "99999"], "port must be a number from 0 to 65535"),
    (["run", "--max-body", "lots"], "--max-body takes a number of bytes"),
    (["match", "a", "b", "c"], "match takes [ROOT] PATH"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_clear_line_and_no_traceback(args: list[str], message: str) -> None:
    done = devserver(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_folder_without_app_is_refused(tmp_path: Path) -> None:
    done = devserver("run", str(tmp_path))
    assert done.returncode == 2 and "has no app/ folder" in done.stderr


def test_port_in_use_is_one_line(app: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = devserver("run", str(app), "--port", str(port), "--no-reload")
    assert done.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert "Traceback" not in done.stderr


def test_run_prints_its_url_serves_and_stops_cleanly_on_ctrl_c(app: Path) -> None:
    for extra in ((), ("--no-reload",)):
        server = start_server(app, *extra)
        assert "/__routes" in server.output
        with urllib.request.urlopen(server.url + "/", timeout=10) as response:
            assert json.loads(response.read()) == {"home": True}
        server.proc.send_signal(signal.SIGINT)
        assert server.proc.wait(timeout=15) == 0
        time.sleep(0.1)
        assert "Traceback" not in server.output and "stopped" in server.output


def test_python_dash_m_and_the_console_script_are_the_same_command(app: Path) -> None:
    script = Path(sys.executable).parent / "devserver"
    done = subprocess.run([str(script), "routes", str(app)], capture_output=True, text=True, timeout=60)
    assert done.stdout == devserver("routes", str(app)).stdout


def test_non_loopback_host_is_warned_about(app: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "devserver", "run", str(app), "--host", "0.0.0.0",
                             "--port", "0", "--no-reload"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        seen = ""
        while "serving" not in seen:
            line = proc.stdout.readline()
            if not line:
                break
            seen += line
        assert "reachable from other machines" in seen and "file paths" in seen
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
        if proc.stdout:
            proc.stdout.close()


def test_demo_routes_are_clean() -> None:
    done = devserver("routes", str(REPO / "demo"))
    assert done.returncode == 0, done.stdout
    assert "problems:" not in done.stdout
