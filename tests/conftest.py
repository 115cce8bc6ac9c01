"""Shared test helpers: temp apps on disk and real ``devserver run`` processes on real sockets."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
_URL = re.compile(r"at (http://\S+?)/? ")


def write_app(root: Path, files: dict[str, str]) -> Path:
    """Write ``{"app/api/x.py": source}`` under ``root`` (dedented) and return ``root``."""
    (root / "app").mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


@dataclass
class Server:
    """A ``devserver run`` subprocess; ``url`` has no trailing slash.

    Its output goes to a file, not a pipe: a chatty server must never block on a full pipe.
    """

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.output


def start_server(root: Path, *args: str, env: dict[str, str] | None = None,
                 timeout: float = 60.0, log: Path | None = None) -> Server:
    """Start ``python -m devserver run ROOT --port 0 ...`` and wait for the URL it prints."""
    cmd = [sys.executable, "-m", "devserver", "run", str(root), "--host", "127.0.0.1", "--port", "0",
           *args]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    if log is None:
        fd, name = tempfile.mkstemp(prefix="devserver-", suffix=".log")
        os.close(fd)
        log = Path(name)
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=full_env,
                                cwd=str(root))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _URL.search(log.read_text(errors="replace"))
        if found:
            return Server(proc, found.group(1).rstrip("/"), log)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    raise AssertionError("devserver did not print its URL:\n" + log.read_text(errors="replace"))


@pytest.fixture
def devserver_run() -> Iterator[Callable[..., Server]]:
    """Start real servers; every one is stopped at the end of the test."""
    started: list[Server] = []

    def start(root: Path, *args: str, env: dict[str, str] | None = None) -> Server:
        server = start_server(root, *args, env=env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_chromium() -> None:
    """Browser tests need Debian's chromium: a failure in CI, a skip that says why elsewhere."""
    if CHROMIUM.exists():
        return
    message = "Debian's chromium is not installed (apt-get install chromium); .ci/run installs it"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


# NOTE: module scope, not session: while sync_playwright() is open it leaves its event loop
# marked as running in this thread, and every pytest-asyncio test after it in the same (xdist)
# process fails with "Runner.run() cannot be called from a running event loop".
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium per module, driven by Playwright (never a downloaded build)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


ARTIFACTS = REPO / "test-artifacts"
