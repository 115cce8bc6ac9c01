"""Hot reload on real files and a real server (DESIGN §5, issue 4)."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Server, start_server, write_app

ROUTE = '''
from app.lib.names import greeting

COUNTER = []

async def get(req):
    COUNTER.append(1)
    return {{"json": {{"v": {v!r}, "greeting": greeting(), "calls": len(COUNTER)}}}}
'''

BASE = {
    "app/api/hello.py": ROUTE.format(v=1),
    "app/lib/names.py": "from app.lib.words import WORD\n\ndef greeting():\n    return 'hello ' + WORD\n",
    "app/lib/words.py": "WORD = 'world'\n",
    "app/api/other.py": "async def get(req):\n    return {'json': {'other': True}}\n",
    "app/pages/page.html": "<html><body><h1>{{ store.title }}</h1></body></html>\n",
    "app/api/page.py": "async def get(req):\n    return {'json': {'title': 'first'}}\n",
    "public/site.css": "body { color: black; }\n",
}


def get(url: str, accept: str = "application/json") -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            body = response.read()
            kind = response.headers.get("Content-Type", "")
            return response.status, json.loads(body) if "json" in kind else body.decode()
    except urllib.error.HTTPError as err:
        body = err.read()
        kind = err.headers.get("Content-Type", "")
        return err.code, json.loads(body) if "json" in kind else body.decode()


def eventually(check: Callable[[], Any], timeout: float = 8.0) -> Any:
    """Poll until ``check`` returns something truthy; fail with the last value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.02)
    raise AssertionError(f"not reached in {timeout}s; last value: {last!r}")


def save(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def app_root(tmp_path: Path) -> Path:
    return write_app(tmp_path / "proj", BASE)


@pytest.fixture
def server(app_root: Path) -> Iterator[Server]:
    running = start_server(app_root)
    yield running
    running.stop()


def test_route_edit_is_served_at_once_and_module_state_starts_fresh(server: Server, app_root: Path) -> None:
    assert get(server.url + "/hello")[1]["v"] == 1
    assert get(server.url + "/hello")[1]["calls"] == 2
    save(app_root / "app/api/hello.py", ROUTE.format(v=2))
    body = eventually(lambda: (b := get(server.url + "/hello")[1])["v"] == 2 and b)
    assert body["calls"] == 1  # module-level state of a reloaded module starts fresh


def test_helper_two_imports_away_reaches_the_route(server: Server, app_root: Path) -> None:
    assert get(server.url + "/hello")[1]["greeting"] == "hello world"
    save(app_root / "app/lib/words.py", "WORD = 'there'\n")
    eventually(lambda: get(server.url + "/hello")[1]["greeting"] == "hello there")
    assert "import" in server.output and "app/lib/words.py changed" in server.output


def test_same_size_same_second_edit_never_runs_stale_bytecode(server: Server, app_root: Path) -> None:
    words = app_root / "app/lib/words.py"
    assert get(server.url + "/hello")[1]["greeting"] == "hello world"
    stat = words.stat()
    save(words, "WORD = 'WORLD'\n")  # same size
    os.utime(words, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same mtime
    eventually(lambda: get(server.url + "/hello")[1]["greeting"] == "hello WORLD")


def test_template_edit_applies_to_the_next_render(server: Server, app_root: Path) -> None:
    assert "<h1>first</h1>" in get(server.url + "/page", "text/html")[1]
    save(app_root / "app/pages/page.html", "<html><body><h2>{{ store.title }}!</h2></body></html>\n")
    eventually(lambda: "<h2>first!</h2>" in get(server.url + "/page", "text/html")[1])


def test_routes_added_renamed_and_deleted(server: Server, app_root: Path) -> None:
    assert get(server.url + "/fresh")[0] == 404
    save(app_root / "app/api/fresh.py", "async def get(req):\n    return {'json': {'fresh': 1}}\n")
    eventually(lambda: get(server.url + "/fresh")[0] == 200)
    (app_root / "app/api/fresh.py").rename(app_root / "app/api/renamed.py")
    eventually(lambda: get(server.url + "/renamed")[0] == 200 and get(server.url + "/fresh")[0] == 404)
    (app_root / "app/api/renamed.py").unlink()
    eventually(lambda: get(server.url + "/renamed")[0] == 404)
    # a whole folder moved
    save(app_root / "app/api/team/[id].py", "async def get(req):\n    return {'json': req.params}\n")
    eventually(lambda: get(server.url + "/team/7")[1] == {"id": "7"})
    (app_root / "app/api/team").rename(app_root / "app/api/crew")
    eventually(lambda: get(server.url + "/crew/7")[1] == {"id": "7"}
               and get(server.url + "/team/7")[0] == 404)


def test_syntax_error_breaks_only_its_route_and_a_fix_heals_it(server: Server, app_root: Path) -> None:
    save(app_root / "app/api/hello.py", "async def get(req)\n    return {}\n")
    status, body = eventually(lambda: (r := get(server.url + "/hello"))[0] == 500 and r)
    assert body["error"]["file"] == "app/api/hello.py" and body["error"]["line"] == 1
    assert "SyntaxError" in body["error"]["message"]
    status, html = get(server.url + "/hello", "text/html")
    assert status == 500 and "app/api/hello.py" in html and "SyntaxError" in html
    assert get(server.url + "/other")[1] == {"other": True}  # everything else keeps serving
    routes = json.loads(_routes_json(app_root))
    broken = [r for r in routes["routes"] if r["id"] == "hello"][0]
    assert broken["status"] == "broken"
    save(app_root / "app/api/hello.py", ROUTE.format(v=3))
    eventually(lambda: get(server.url + "/hello")[1].get("v") == 3)


def _routes_json(root: Path) -> str:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "devserver", "routes", str(root), "--json"],
                          capture_output=True, text=True, timeout=30)
    return done.stdout


def test_stylesheet_change_is_announced_as_a_css_swap(server: Server, app_root: Path) -> None:
    messages = _listen(server.url)
    time.sleep(0.3)
    save(app_root / "public/site.css", "body { color: red; }\n")
    msg = eventually(lambda: next((m for m in messages if m.get("css")), None))
    assert msg["css"] == ["/_public/site.css"] and not msg["everything"]
    save(app_root / "app/pages/page.html", "<html><body><h3>{{ store.title }}</h3></body></html>\n")
    msg = eventually(lambda: next((m for m in messages if "page" in m.get("routes", [])), None))
    assert msg["mode"] == "in place"


def _listen(url: str) -> list[dict[str, Any]]:
    """Collect the reload messages of /__devserver/ws on a background thread."""
    import asyncio

    import aiohttp

    messages: list[dict[str, Any]] = []

    async def run() -> None:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(url + "/__devserver/ws") as ws:
                async for msg in ws:
                    data = json.loads(msg.data)
                    if data.get("type") == "reload":
                        messages.append(data)

    threading.Thread(target=lambda: asyncio.run(run()), daemon=True).start()
    return messages


def test_log_file_in_the_tree_does_not_trigger_reloads(server: Server, app_root: Path) -> None:
    for n in range(20):
        save(app_root / "app/server.log", f"line {n}\n")
        save(app_root / "app/notes.swp", "x")
        time.sleep(0.01)
    time.sleep(0.5)
    assert "reload:" not in server.output


def test_editor_truncate_then_write_is_never_served_half_written(server: Server,
                                                                  app_root: Path) -> None:
    path = app_root / "app/api/hello.py"
    with path.open("w") as handle:  # truncate, then write in two parts, as some editors do
        handle.flush()
        handle.write("from app.lib.names import greeting\n")
        handle.flush()
        time.sleep(0.005)
        handle.write(ROUTE.format(v=9).split("\n", 2)[2])
    eventually(lambda: get(server.url + "/hello")[1].get("v") == 9)
    assert "errors:" not in server.output


def test_requests_never_fail_while_files_change(server: Server, app_root: Path) -> None:
    failures: list[str] = []
    served = [0]
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            status, _ = get(server.url + "/other")
            served[0] += 1
            if status != 200:
                failures.append(str(status))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for n in range(15):
        save(app_root / "app/lib/words.py", f"WORD = 'w{n}'\n")
        save(app_root / f"app/api/extra{n % 3}.py", "async def get(req):\n    return {}\n")
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()
    assert served[0] > 50 and failures == []


def test_pyproject_change_restarts_the_worker_and_no_request_is_refused(server: Server,
                                                                           app_root: Path) -> None:
    failures: list[str] = []
    served = [0]
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                status, _ = get(server.url + "/other")
            except OSError as exc:  # a refused or reset connection
                failures.append(repr(exc))
                continue
            served[0] += 1
            if status != 200:
                failures.append(str(status))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    save(app_root / "pyproject.toml", "[project]\nname = 'x'\n")
    eventually(lambda: "new worker 2" in server.output, timeout=15)
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == [] and served[0] > 20
    assert "restart" in server.output


def test_a_handler_that_kills_the_worker_does_not_end_devserver(server: Server, app_root: Path) -> None:
    save(app_root / "app/api/die.py", "import os\n\nasync def get(req):\n    os._exit(3)\n")
    eventually(lambda: "app/api/die.py" in server.output)
    try:
        get(server.url + "/die")
    except OSError:
        pass  # the connection of the request that killed its worker is lost
    eventually(lambda: "worker exited unexpectedly" in server.output)
    eventually(lambda: get(server.url + "/other")[0] == 200, timeout=15)
    save(app_root / "app/api/bye.py", "import sys\n\nasync def get(req):\n    sys.exit(1)\n")
    status, body = eventually(lambda: (r := get(server.url + "/bye"))[0] == 500 and r)
    assert "sys.exit" in body["error"]["message"]
    assert get(server.url + "/other")[0] == 200


def test_no_reload_turns_it_all_off(app_root: Path) -> None:
    running = start_server(app_root, "--no-reload")
    try:
        assert get(running.url + "/hello")[1]["v"] == 1
        save(app_root / "app/api/hello.py", ROUTE.format(v=2))
        time.sleep(0.8)
        assert get(running.url + "/hello")[1]["v"] == 1
        assert "live.js" not in get(running.url + "/page", "text/html")[1]
    finally:
        running.stop()


def test_reading_many_files_does_not_flood_the_watcher(server: Server, app_root: Path) -> None:
    """watchdog 7 reports file opens unless told not to; a busy tree must not drown real edits."""
    data = app_root / "app/data"
    for n in range(300):
        save(data / f"f{n}.txt", "x")
    time.sleep(0.3)
    for _ in range(5):
        for n in range(300):
            (data / f"f{n}.txt").read_text()
    save(app_root / "app/lib/words.py", "WORD = 'after the flood'\n")
    eventually(lambda: get(server.url + "/hello")[1]["greeting"] == "hello after the flood")
    assert "overflow" not in server.output.lower()


def test_watcher_asks_only_for_writes_creations_deletions_and_moves() -> None:
    from watchdog import events

    from devserver.watcher import Watcher

    kinds = set(Watcher._filter(None))  # type: ignore[arg-type]
    assert events.FileOpenedEvent not in kinds and events.FileClosedNoWriteEvent not in kinds
    assert {events.FileModifiedEvent, events.FileCreatedEvent, events.FileMovedEvent} <= kinds


def test_a_restart_is_the_last_reload_of_the_new_worker(server: Server, app_root: Path) -> None:
    save(app_root / "pyproject.toml", "[project]\nname = 'x'\n")
    eventually(lambda: "new worker 2" in server.output, timeout=15)
    last = eventually(lambda: (r := get(server.url + "/__routes.json")[1]["last_reload"])
                      and r.get("generation") == 2 and r, timeout=15)
    assert last["mode"] == "restart" and last["changed"] == ["pyproject.toml"]
    assert last["reason"] == "pyproject.toml changed" and last["duration_ms"] > 0
    assert get(server.url + "/hello")[1]["v"] == 1  # the new worker serves the app
    # one log line for the reload, the supervisor's, with the time the restart really took
    lines = [line for line in server.output.splitlines() if "reload:" in line and "pyproject.toml" in line]
    assert len(lines) == 1 and "-> new worker 2 (restart, pyproject.toml changed) in" in lines[0], lines


def test_a_restart_without_the_fork_server_starts_a_new_interpreter(app_root: Path) -> None:
    running = start_server(app_root, env={"DEVSERVER_FORK": "0"})
    try:
        save(app_root / "app/lib/words.py", "WORD = 'again'\n")
        eventually(lambda: get(running.url + "/hello")[1]["greeting"] == "hello again")
        save(app_root / ".env", "X=1\n")
        eventually(lambda: "new worker 2" in running.output, timeout=30)
        last = eventually(lambda: (r := get(running.url + "/__routes.json")[1]["last_reload"])
                          and r.get("generation") == 2 and r, timeout=15)
        assert last["changed"] == [".env"] and last["mode"] == "restart"
        assert get(running.url + "/hello")[1]["greeting"] == "hello again"
    finally:
        running.stop()
