"""Faults a real ``devserver run`` survives, each with a clear message (issue 9, item 4).

- the worker SIGKILLed mid-request: the supervisor starts a new one on the same listening socket;
  only the killed request is lost, no connection is refused;
- the supervisor SIGKILLed: its worker notices and exits, so no orphan keeps the port;
- ``app/`` deleted and restored: a warning, 404s meanwhile, routes back without a restart;
- unreadable route files. Tests run as root, where ``chmod 000`` restricts nothing, so they are
  simulated with what root cannot read either: a dangling symlink, a symlink loop, a folder named
  like a module, a FIFO and a symlink to ``/dev/zero`` (the last two used to hang the worker);
  the real ``chmod 000`` case runs when the tests do not run as root;
- a symlink loop inside ``app/`` (files and folders): discovery and the watcher neither hang nor
  recurse, and edits still reload;
- a full disk when the session secret is first written (``os.open`` raising ENOSPC, in process),
  and ``.devserver`` being a file: a warning, a temporary key, sessions still work;
- a second ``devserver run`` on the same port: one line, exit code 2, the first keeps serving.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import pytest

from devserver import create_app
from devserver import sessions as sessions_module

from .conftest import Server, write_app

APP = {
    "app/api/index.py": "async def get(req):\n    return {'json': {'v': 1}}\n",
    "app/api/slow.py": """
        import asyncio
        import os
        from pathlib import Path

        async def get(req):
            marker = os.environ.get("FAULTS_MARKER")
            if marker and req.query.get("mark"):
                Path(marker).touch()  # the test kills this worker once the request is inside it
                await asyncio.sleep(60)
            return {"json": {"slow": True}}
        """,
    "app/pages/about.html": "<html><body><p>about</p></body></html>\n",
}


def get(url: str, timeout: float = 30) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body)
        except ValueError:
            return exc.code, body.decode(errors="replace")


def eventually(check: Callable[[], Any], timeout: float = 30, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except (OSError, ValueError, KeyError):
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s: {check}")
        time.sleep(interval)


def workers(supervisor: int) -> list[int]:
    """The supervisor's workers: its children, or its fork server's (Linux forks them from there)."""
    found = []
    for pid in children(supervisor):
        try:
            forkserver = b"devserver.forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        found += children(pid) if forkserver else [pid]
    return found


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc, like ``ps --ppid``)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


def listening_inode(pid: int, port: int) -> str | None:
    """The inode of the socket listening on ``port``, if process ``pid`` holds it open."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[3] == "0A" and int(parts[1].split(":")[1], 16) == port:
            inodes.add(parts[9])
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return target[8:-1]
    return None


def port_of(server: Server) -> int:
    return int(server.url.rsplit(":", 1)[1])


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_app(tmp_path / "project", APP)


# -- processes ------------------------------------------------------------------------------------


def test_a_worker_killed_mid_request_is_replaced_and_the_socket_stays(devserver_run: Callable[..., Server],
                                                                        root: Path, tmp_path: Path) -> None:
    marker = tmp_path / "inside"
    server = devserver_run(root, env={"FAULTS_MARKER": str(marker)})
    supervisor = server.proc.pid
    worker = eventually(lambda: (found := workers(supervisor)) and found[0])
    inode = listening_inode(supervisor, port_of(server))
    assert inode is not None
    assert get(server.url + "/")[0] == 200

    in_flight: list[object] = []

    def slow() -> None:
        try:
            in_flight.append(get(server.url + "/slow?mark=1", timeout=90))
        except OSError as exc:  # its connection closes with the worker that had it
            in_flight.append(exc)

    thread = threading.Thread(target=slow)
    thread.start()
    eventually(marker.exists)  # the slow request is now inside the worker
    os.kill(worker, signal.SIGKILL)
    # Straight away, while the supervisor notices and starts a new worker: nothing is refused.
    answers = [get(server.url + "/")[0] for _ in range(10)]
    thread.join(timeout=60)
    assert answers == [200] * 10
    assert isinstance(in_flight[0], OSError), in_flight  # only the killed request is lost
    eventually(lambda: "worker exited unexpectedly (code -9)" in server.output)
    new = eventually(lambda: (found := workers(supervisor)) and found[0])
    assert new != worker and server.proc.poll() is None
    assert listening_inode(supervisor, port_of(server)) == inode  # the same socket, never closed
    assert get(server.url + "/slow")[1] == {"slow": True}


def test_workers_that_die_while_starting_are_replaced_until_one_serves(devserver_run: Callable[..., Server],
                                                                        root: Path) -> None:
    server = devserver_run(root)
    assert get(server.url + "/")[0] == 200
    # Importing it ends the process: the worker dies reloading it, and every new one while starting.
    (root / "app/api/boom.py").write_text("import os\n\nos._exit(7)\n")
    eventually(lambda: "worker exited unexpectedly (code 7)" in server.output)
    eventually(lambda: "exited with code 7 before it was ready" in server.output)
    (root / "app/api/boom.py").write_text("async def get(req):\n    return {'json': {'boom': False}}\n")
    assert eventually(lambda: get(server.url + "/boom", timeout=5)[1] == {"boom": False}, timeout=60)
    assert get(server.url + "/")[0] == 200 and server.proc.poll() is None


def test_a_killed_supervisor_takes_its_worker_with_it(root: Path) -> None:
    from .conftest import start_server

    server = start_server(root)
    try:
        worker = eventually(lambda: (found := workers(server.proc.pid)) and found[0])
        assert get(server.url + "/")[0] == 200
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
        eventually(lambda: not Path(f"/proc/{worker}").exists()
                   or Path(f"/proc/{worker}/stat").read_text().rpartition(")")[2].split()[0] == "Z",
                   timeout=15)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port_of(server)), timeout=5).close()
        assert "the supervisor (pid" in server.output
    finally:
        server.stop()


def test_a_second_devserver_on_the_same_port_is_one_line_and_exit_2(devserver_run: Callable[..., Server],
                                                                     root: Path) -> None:
    server = devserver_run(root)
    second = subprocess.run([sys.executable, "-m", "devserver", "run", str(root), "--port",
                             str(port_of(server))], capture_output=True, text=True, timeout=60)
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "already in use" in lines[0], second.stderr
    assert "Traceback" not in second.stderr + second.stdout
    assert get(server.url + "/")[0] == 200  # the first one is untouched


# -- the tree -------------------------------------------------------------------------------------


def test_app_deleted_and_restored_is_reported_and_recovers_without_a_restart(
        devserver_run: Callable[..., Server], root: Path, tmp_path: Path) -> None:
    server = devserver_run(root)
    assert get(server.url + "/")[1] == {"v": 1}
    away = tmp_path / "app-away"
    shutil.move(root / "app", away)
    eventually(lambda: get(server.url + "/")[0] == 404)
    eventually(lambda: "app is missing" in server.output)
    warnings = get(server.url + "/__routes.json")[1]["warnings"]
    assert any("is missing" in w for w in warnings), warnings
    shutil.move(away, root / "app")
    eventually(lambda: get(server.url + "/")[1] == {"v": 1})
    assert get(server.url + "/__routes.json")[1]["warnings"] == []
    # the watches came back with the folder: an edit after the restore reloads in place
    (root / "app/api/index.py").write_text("async def get(req):\n    return {'json': {'v': 2}}\n")
    eventually(lambda: get(server.url + "/")[1] == {"v": 2})
    assert "new worker" not in server.output  # no restart was needed


def _unreadable_tree(root: Path) -> None:
    api, pages = root / "app/api", root / "app/pages"
    (api / "dangling.py").symlink_to(root / "nowhere.py")
    (api / "loop_a.py").symlink_to("loop_b.py")
    (api / "loop_b.py").symlink_to("loop_a.py")
    (api / "folder.py").mkdir()  # a folder named like a module is a folder, not a route file
    (api / "folder.py" / "inner.py").write_text("async def get(req):\n    return {'json': 'inner'}\n")
    os.mkfifo(api / "fifo.py")
    (pages / "zero.html").symlink_to("/dev/zero")
    (pages / "gone.html").symlink_to("missing.html")


def test_unreadable_route_files_break_only_their_route_with_a_clear_message(
        devserver_run: Callable[..., Server], root: Path) -> None:
    _unreadable_tree(root)
    server = devserver_run(root)
    assert get(server.url + "/")[1] == {"v": 1}
    status, body = get(server.url + "/dangling")
    assert status == 500 and "app/api/dangling.py" in body["error"]["message"]
    assert "No such file" in body["error"]["message"]
    status, body = get(server.url + "/loop_a")
    assert status == 500 and "symbolic links" in body["error"]["message"]
    assert get(server.url + "/folder.py/inner")[1] == "inner"
    assert get(server.url + "/fifo")[0] == 404  # skipped: reading a FIFO would block
    assert get(server.url + "/zero")[0] == 404  # skipped: /dev/zero never ends
    html = urllib.request.Request(server.url + "/gone", headers={"Accept": "text/html"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(html, timeout=30)
    assert info.value.code == 500 and "gone.html" in info.value.read().decode()
    assert "fifo.py: not a regular file" in server.output
    assert "zero.html: not a regular file" in server.output
    # a FIFO that appears while it runs is skipped too, and the server keeps answering
    os.mkfifo(root / "app/api/later.py")
    eventually(lambda: "later.py: not a regular file" in server.output)
    assert get(server.url + "/", timeout=10)[0] == 200


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file anyway; the tests above "
                                               "simulate unreadable files with symlinks and a FIFO")
def test_a_chmod_000_route_file_is_a_500_naming_it(devserver_run: Callable[..., Server], root: Path) -> None:
    (root / "app/api/secret.py").write_text("async def get(req):\n    return {}\n")
    (root / "app/api/secret.py").chmod(0)
    server = devserver_run(root)
    status, body = get(server.url + "/secret")
    assert status == 500 and "Permission denied" in body["error"]["message"]
    assert get(server.url + "/")[0] == 200


def test_a_symlink_loop_inside_app_neither_hangs_nor_stops_reloads(devserver_run: Callable[..., Server],
                                                                   root: Path) -> None:
    (root / "app/api/again").symlink_to(".")  # app/api/again/again/again/...
    (root / "app/pages/up").symlink_to("../..")
    (root / "app/lib").mkdir()
    (root / "app/lib/self").symlink_to("self")
    server = devserver_run(root)
    assert get(server.url + "/")[1] == {"v": 1}
    assert get(server.url + "/again/index")[0] == 404  # a symlinked folder is not followed
    (root / "app/api/index.py").write_text("async def get(req):\n    return {'json': {'v': 3}}\n")
    eventually(lambda: get(server.url + "/")[1] == {"v": 3})
    routes = get(server.url + "/__routes.json")[1]["routes"]
    assert sorted(r["pattern"] for r in routes) == ["/", "/about", "/slow"]


# -- the session secret ---------------------------------------------------------------------------


async def _session_round_trip(client: Any) -> None:
    first = await client.post("/", json={"name": "ada"})
    assert first.status == 200
    again = await client.get("/")
    assert (await again.json()) == {"name": "ada"}


SESSION_APP = {"app/api/index.py": """
    async def get(req):
        return {"json": req.session}

    async def post(req):
        return {"json": {}, "session": req.body}
    """}


@pytest.mark.asyncio
async def test_a_full_disk_when_the_secret_is_first_written(aiohttp_client: Any, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    root = write_app(tmp_path / "project", SESSION_APP)
    monkeypatch.delenv("DEVSERVER_SECRET", raising=False)
    real_open = os.open

    def full_disk(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith(os.path.join(".devserver", "secret")):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(sessions_module.os, "open", full_disk)
    with caplog.at_level(logging.WARNING, logger="devserver"):
        app = create_app(root, dev=False)
    message = caplog.text
    assert "cannot write the session secret" in message and "No space left on device" in message
    assert "temporary key" in message and "DEVSERVER_SECRET" in message
    assert not (root / ".devserver" / "secret").exists()  # nothing half-written is left
    await _session_round_trip(await aiohttp_client(app))


@pytest.mark.asyncio
async def test_a_devserver_file_in_place_of_the_folder(aiohttp_client: Any, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    root = write_app(tmp_path / "project", SESSION_APP)
    (root / ".devserver").write_text("not a folder\n")
    monkeypatch.delenv("DEVSERVER_SECRET", raising=False)
    with caplog.at_level(logging.WARNING, logger="devserver"):
        app = create_app(root, dev=False)
    assert "session secret" in caplog.text and "Not a directory" in caplog.text
    await _session_round_trip(await aiohttp_client(app))
    assert (root / ".devserver").read_text() == "not a folder\n"  # left as it was


# -- a file removed under a running table --------------------------------------------------------


@pytest.mark.asyncio
async def test_a_route_file_removed_before_the_rescan_is_a_404_not_a_500(aiohttp_client: Any,
                                                                       tmp_path: Path) -> None:
    """The soak found these: a request between a deletion and the rescan it causes got a 500."""
    from devserver.keys import CONFIG, STATE
    from devserver.server import swap_state
    from devserver.state import build_state

    root = write_app(tmp_path / "project", {**APP, "app/api/gone.py": APP["app/api/index.py"],
                                            "app/api/reads.py": "open('missing.json')\n",
                                            "app/pages/users.html": "<p>users</p>\n"})
    (root / "app/pages/dangling.html").symlink_to("missing.html")
    app = create_app(root)
    client = await aiohttp_client(app)
    (root / "app/pages/about.html").unlink()
    resp = await client.get("/about", headers={"Accept": "text/html"})
    assert resp.status == 404 and "app/pages/about.html was removed" in await resp.text()
    # deleted between Jinja's check that the file exists and its open()
    (root / "app/pages/users.html").unlink()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jinja2.loaders.os.path, "isfile", lambda path: True)
        resp = await client.get("/users", headers={"Accept": "text/html"})
    assert resp.status == 404, await resp.text()
    (root / "app/api/gone.py").unlink()  # and a reload re-imported it before seeing the deletion
    # the swap happens on a started app: no DeprecationWarning (filterwarnings=error would fail it)
    swap_state(app, build_state(app[CONFIG], app[STATE].state, frozenset({"app/api/gone.py"}), rescan=False))
    resp = await client.get("/gone", headers={"Accept": "application/json"})
    assert resp.status == 404 and "app/api/gone.py was removed" in (await resp.json())["error"]["message"]
    (root / "app/api/gone.py").write_text(APP["app/api/index.py"])  # back, before its reload
    assert (await client.get("/gone", headers={"Accept": "application/json"})).status == 404
    # a module whose own code raises FileNotFoundError is broken, not gone
    resp = await client.get("/reads", headers={"Accept": "application/json"})
    assert resp.status == 500 and "missing.json" in (await resp.json())["error"]["message"]
    # a dangling symlink is still there: its 500 names it
    resp = await client.get("/dangling", headers={"Accept": "text/html"})
    assert resp.status == 500 and "dangling.html" in await resp.text()
    outside = await aiohttp_client(create_app(root, dev=False))
    resp = await outside.get("/about", headers={"Accept": "text/html"})
    assert resp.status == 404 and "app/pages" not in await resp.text()


# -- saves that break things for a moment ---------------------------------------------------------

HELPER_APP = {
    "app/lib/shared.py": "VALUE = 1\n",
    "app/api/uses.py": "from app.lib.shared import VALUE\n\nasync def get(req):\n"
                       "    return {'json': VALUE}\n",
    "app/api/other.py": "async def get(req):\n    return {'json': 'other'}\n",
}


def test_importers_of_a_helper_saved_broken_heal_when_it_is_fixed(devserver_run: Callable[..., Server],
                                                                  tmp_path: Path) -> None:
    """A module that failed on a helper is retried when the helper is saved again (the soak found it)."""
    root = write_app(tmp_path / "project", HELPER_APP)
    server = devserver_run(root)
    assert get(server.url + "/uses")[1] == 1
    (root / "app/lib/shared.py").write_text("OTHER = 2\n")  # VALUE gone: /uses cannot import it
    status, body = eventually(lambda: (r := get(server.url + "/uses"))[0] == 500 and r)
    assert "cannot import name 'VALUE'" in body["error"]["message"]
    (root / "app/lib/shared.py").write_text("VALUE = 3\n")  # only the helper is saved
    eventually(lambda: get(server.url + "/uses")[1] == 3)


def test_a_slow_save_is_never_read_half_written(devserver_run: Callable[..., Server], tmp_path: Path) -> None:
    """An editor (or a preempted process) that truncates, pauses, then writes: the reload waits for
    the file to be closed, so no request sees the half-written module."""
    root = write_app(tmp_path / "project", HELPER_APP)
    server = devserver_run(root)
    assert get(server.url + "/other")[1] == "other"
    seen: list[Any] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            seen.append(get(server.url + "/other"))

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        for n in range(3):
            with open(root / "app/api/other.py", "w") as handle:
                handle.write("async def get(req):\n")
                handle.flush()
                time.sleep(0.15)  # half a module on disk, for longer than a burst's quiet window
                handle.write(f"    return {{'json': 'saved {n}'}}\n")
            eventually(lambda n=n: get(server.url + "/other")[1] == f"saved {n}")
    finally:
        stop.set()
        thread.join()
    assert len(seen) > 10
    assert {status for status, _ in seen} == {200}, [body for status, body in seen if status != 200][:3]


def test_the_secret_warning_is_one_clear_line_in_devserver_run(devserver_run: Callable[..., Server],
                                                               tmp_path: Path) -> None:
    root = write_app(tmp_path / "project", SESSION_APP)
    (root / ".devserver").write_text("not a folder\n")
    server = devserver_run(root, "--no-reload", env={"DEVSERVER_SECRET": ""})
    assert get(server.url + "/")[0] == 200
    lines = [line for line in server.output.splitlines() if "session secret" in line]
    assert lines == [f"devserver: cannot read the session secret {root}/.devserver/secret (Not a "
                     "directory); sessions will not survive a restart"], server.output
