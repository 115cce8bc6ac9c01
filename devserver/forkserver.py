"""The fork server of ``devserver run``: imports the server stack once, forks every worker from it.

A new worker spent most of its start-up importing aiohttp, Jinja2, cryptography, watchdog and
devserver itself (~0.8 s of CPU), none of which a restart changes. The supervisor starts this
process once; it imports those libraries (never the user's app, which is what a restart is for),
then waits for requests on a pipe. Each request forks a child that builds the app and serves, so a
restart pays only for the app's own modules.

- Fork safety: nothing here starts a thread or an event loop before forking; the child creates
  its own loop (:func:`devserver.worker.run`).
- This process is the workers' parent: it reaps them and reports each exit to the supervisor on
  the control pipe (``{"exited": pid, "code": n}``), as ``Popen.returncode`` would say it.
- A library file changed on disk since it was imported (an upgrade, an edit to devserver itself):
  a fork would run the old code, so it answers ``{"stale": generation}`` and forks no more; the
  supervisor starts a fresh fork server. One that is retired this way (its request pipe closed
  while the supervisor lives) keeps reaping its children until the last one exits.
- The supervisor gone (its pipe closed and this process reparented): the workers are told to stop.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import logging
import os
import select
import signal
import sys
import traceback
from typing import Any

__all__ = ["ENV", "PRELOAD", "main", "name_process"]

log = logging.getLogger("devserver")

ENV = "DEVSERVER_FORKSERVER"
# Imported once here, shared by every worker: what a worker imports before it loads the app.
PRELOAD = ("devserver.worker", "devserver.server", "devserver.reloader", "devserver.dashboard",
           "devserver.internal", "devserver.cli", "watchdog.events", "watchdog.observers",
           "uvloop")


def _preload() -> None:
    for name in PRELOAD:
        with contextlib.suppress(ImportError):  # uvloop is optional (devserver[speed])
            importlib.import_module(name)


def name_process(name: str) -> None:
    """What ``ps -o comm`` and ``top`` show (Linux): a worker and the fork server are told apart
    from ``python`` (their command lines are the fork server's)."""
    with contextlib.suppress(OSError):
        with open("/proc/self/comm", "w") as comm:
            comm.write(name[:15])


def _stamps() -> dict[str, tuple[int, int]]:
    """(mtime, size) of every imported module's file, to notice one changed on disk."""
    out = {}
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str):
            with contextlib.suppress(OSError):
                st = os.stat(file)
                out[file] = (st.st_mtime_ns, st.st_size)
    return out


def _stale(stamps: dict[str, tuple[int, int]]) -> bool:
    for file, stamp in stamps.items():
        try:
            st = os.stat(file)
        except OSError:
            return True
        if (st.st_mtime_ns, st.st_size) != stamp:
            return True
    return False


class _Server:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.requests: int | None = settings["requests"]
        self.listener: int | None = settings["fd"]  # only to hand down: closed when retired
        self.control: int = settings["control"]
        self.supervisor: int = settings["supervisor"]
        self.children: set[int] = set()
        self.stamps = _stamps()
        self.buffer = b""
        self.orphaned = False
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_write, False)
        signal.set_wakeup_fd(self.wake_write)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # wakes select() through the fd

    def send(self, **message: Any) -> None:
        line = (json.dumps({"pid": os.getpid(), **message}) + "\n").encode()
        with contextlib.suppress(OSError):
            os.write(self.control, line)

    def loop(self) -> None:
        while self.requests is not None or self.children:
            fds = [self.wake_read] + ([self.requests] if self.requests is not None else [])
            readable, _, _ = select.select(fds, [], [], 1.0)
            if self.wake_read in readable:
                with contextlib.suppress(BlockingIOError, InterruptedError):
                    os.read(self.wake_read, 512)
            self._reap()
            if self.requests is not None and self.requests in readable:
                self._read_requests()
            if self.requests is None and os.getppid() != self.supervisor and not self.orphaned:
                self.orphaned = True  # the supervisor is gone (killed): so are its workers
                log.warning("the supervisor (pid %s) is gone; its workers stop too", self.supervisor)
                self._stop_children()

    def _read_requests(self) -> None:
        assert self.requests is not None
        data = os.read(self.requests, 65536)
        if not data:
            self._retire()
            return
        *lines, self.buffer = (self.buffer + data).split(b"\n")
        for line in lines:
            if line.strip() and self.requests is not None:
                self._fork(json.loads(line))

    def _fork(self, settings: dict[str, Any]) -> None:
        if _stale(self.stamps):
            self.send(stale=settings["generation"])
            self._retire()
            return
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        pid = os.fork()
        if pid == 0:
            self._child(settings)  # never returns
        self.children.add(pid)
        self.send(forked=pid, generation=settings["generation"])

    def _retire(self) -> None:
        """No more forks: only reaping. The listening socket is closed here at once (a killed
        supervisor's port must close with its last worker)."""
        for fd in (self.requests, self.listener):
            if fd is not None:
                os.close(fd)
        self.requests = self.listener = None

    def _child(self, settings: dict[str, Any]) -> None:
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            for fd in (self.wake_read, self.wake_write, self.requests):
                if fd is not None:
                    os.close(fd)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            gc.enable()
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            name_process("devserver worker")
            from .worker import run

            code = run(settings)
        except BaseException:  # noqa: BLE001 - a forked child must never return into this loop
            with contextlib.suppress(Exception):
                traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(code)

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                return
            if pid == 0:
                return
            self.children.discard(pid)
            self.send(exited=pid, code=os.waitstatus_to_exitcode(status))

    def _stop_children(self) -> None:
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def main() -> int:
    from .logs import configure_logging

    configure_logging()
    # NOTE: Ctrl-C reaches the whole process group; the supervisor ends this process (by closing
    # its request pipe) after its workers have stopped.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    settings = json.loads(os.environ.pop(ENV))
    name_process("devserver fork")
    gc.disable()
    _preload()
    # PERF: what was imported moves to a generation the collector never visits, so a worker's
    # collections neither walk those objects nor copy their pages (copy-on-write) to mark them.
    gc.freeze()
    _Server(settings).loop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
