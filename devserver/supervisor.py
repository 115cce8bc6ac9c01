"""The supervisor of ``devserver run``: it owns the listening socket and keeps a worker serving.

The socket is bound once, here, and inherited by every worker, so it never closes while
devserver runs: during a restart, new connections wait in the kernel's backlog and are answered
by the next worker; none is refused. A restart starts the new worker first and retires the old
one only when the new one is ready (it then finishes its in-flight requests). A worker that
crashes (or whose handler ends the process) is replaced; ``devserver run`` itself does not end.

On Linux, workers are forked by :mod:`devserver.forkserver`, a process that imported the server
stack once, so a restart imports only the user's app; elsewhere (or with ``DEVSERVER_FORK=0``)
each worker is a new interpreter. A restart passes its report (what changed, why, when) to the
new worker, which shows it as its last reload.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from .config import Config
from .worker import worker_env, worker_settings

__all__ = ["Supervisor"]

log = logging.getLogger("devserver")
# DEVSERVER_FORK=0: start every worker as a new interpreter instead of forking it.
FORK_ENV = "DEVSERVER_FORK"


@dataclass
class _Worker:
    """A worker: forked by the fork server (``pid`` once it says so) or spawned (``proc``)."""

    generation: int
    proc: subprocess.Popen[bytes] | None = None
    pid: int | None = None
    code: int | None = None  # a forked worker's exit code, as its fork server reported it
    parent: subprocess.Popen[bytes] | None = None  # a forked worker's fork server
    started: float = field(default_factory=time.monotonic)
    ready: bool = False

    @property
    def process_id(self) -> int | None:
        return self.proc.pid if self.proc is not None else self.pid

    def poll(self) -> int | None:
        if self.proc is not None:
            return self.proc.poll()
        if self.code is None and self.parent is not None and self.parent.poll() is not None \
                and (self.pid is None or not _exists(self.pid)):
            self.code = -1  # its fork server died, and cannot report: the worker is gone too
        return self.code

    def send_signal(self, signum: int) -> bool:
        """Signal the worker if it runs; False when its pid is not known yet."""
        pid = self.process_id
        if pid is None:
            return False
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)
        return True


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Supervisor:
    """Spawns, replaces and stops workers; everything happens on one thread, in :meth:`run`."""

    def __init__(self, config: Config, sock: socket.socket, *, fork: bool | None = None) -> None:
        self.config = config
        self.sock = sock
        self.generation = 0
        self.current: _Worker | None = None
        self.pending: _Worker | None = None
        self.retiring: list[_Worker] = []
        self.restart_info: dict[str, Any] | None = None
        self.restart_started = 0.0
        self.crashes: list[float] = []
        self._read, self._write = os.pipe()
        self._buffer = b""
        self._stopping = False
        # PERF: forking workers from a process that has imported the server stack saves a
        # restart ~0.8 s of CPU. Linux only: macOS does not support fork without exec well.
        self.fork = (sys.platform.startswith("linux") and os.environ.get(FORK_ENV) != "0"
                     if fork is None else fork)
        self.forkserver: subprocess.Popen[bytes] | None = None
        self._requests: int | None = None  # the write end of the fork server's request pipe
        self.retired: list[subprocess.Popen[bytes]] = []  # fork servers still reaping workers

    def _spawn(self) -> _Worker:
        self.generation += 1
        info = self.restart_info
        settings = worker_settings(self.config, self.sock.fileno(), self._write, self.generation,
                                   info)
        if self.fork:
            return self._fork(settings)
        fd = self.sock.fileno()
        proc = subprocess.Popen([sys.executable, "-m", "devserver.worker"],
                                env=worker_env(settings), pass_fds=(fd, self._write))
        return _Worker(self.generation, proc=proc)

    def _fork(self, settings: dict[str, Any]) -> _Worker:
        if self.forkserver is None or self.forkserver.poll() is not None:
            self._start_forkserver()
        assert self._requests is not None and self.forkserver is not None
        with contextlib.suppress(OSError):
            os.write(self._requests, (json.dumps(settings) + "\n").encode())
        return _Worker(settings["generation"], parent=self.forkserver)

    def _start_forkserver(self) -> None:
        from .forkserver import ENV

        if self._requests is not None:
            os.close(self._requests)
        read, self._requests = os.pipe()
        fd = self.sock.fileno()
        settings = {"requests": read, "control": self._write, "supervisor": os.getpid(), "fd": fd}
        self.forkserver = subprocess.Popen(
            [sys.executable, "-m", "devserver.forkserver"], env={**os.environ, ENV: json.dumps(settings)},
            pass_fds=(fd, self._write, read))
        os.close(read)

    def _retire_forkserver(self) -> None:
        """Fork no more workers from the current fork server (it reaps the ones it has)."""
        if self._requests is not None:
            os.close(self._requests)
            self._requests = None
        if self.forkserver is not None:
            self.retired.append(self.forkserver)
            self.forkserver = None

    def run(self) -> int:
        """Serve until Ctrl-C or SIGTERM; returns the exit code for ``devserver run``."""
        signal.signal(signal.SIGTERM, self._on_term)
        self.current = self._spawn()
        try:
            while not self._stopping:
                self._step()
        except KeyboardInterrupt:
            pass
        finally:
            self._shutdown()
        return 0

    def _on_term(self, signum: int, frame: object) -> None:
        self._stopping = True

    def _step(self, timeout: float = 0.05) -> None:
        readable, _, _ = select.select([self._read], [], [], timeout)
        if readable:
            for message in self._messages():
                self._handle(message)
        self._reap()

    def _messages(self) -> list[dict[str, Any]]:
        self._buffer += os.read(self._read, 65536)
        *lines, self._buffer = self._buffer.split(b"\n")
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def _workers(self) -> list[_Worker]:
        return [w for w in (self.current, self.pending, *self.retiring) if w is not None]

    def _by_generation(self, generation: object) -> _Worker | None:
        return next((w for w in self._workers() if w.generation == generation), None)

    def _handle(self, message: dict[str, Any]) -> None:
        if "forked" in message:
            worker = self._by_generation(message.get("generation"))
            if worker is not None:
                worker.pid = message["forked"]
        elif "exited" in message:
            for worker in self._workers():
                if worker.proc is None and worker.pid == message["exited"]:
                    worker.code = int(message.get("code", -1))
        elif "stale" in message:
            self._restart_forkserver(message["stale"])
        elif "ready" in message:
            self._ready(message)
        elif "restart" in message:
            self._restart_requested(message)

    def _ready(self, message: dict[str, Any]) -> None:
        worker = self._by_generation(message.get("generation"))
        if worker is not None and worker is self.pending:
            self._promote()
        elif worker is not None and worker is self.current:
            self.current.ready = True

    def _restart_requested(self, message: dict[str, Any]) -> None:
        current = self.current
        if current is None or self.pending is not None:
            return
        if message.get("pid") != current.process_id:
            return
        self.restart_info = {**message["restart"], "requested_at": time.time()}
        self.restart_started = time.perf_counter()
        self.pending = self._spawn()

    def _restart_forkserver(self, generation: object) -> None:
        """The fork server's libraries changed on disk: fork from a fresh one."""
        log.info("devserver's own modules or libraries changed on disk; importing them afresh")
        self._retire_forkserver()
        pending = self.pending
        if pending is not None and pending.generation == generation and pending.pid is None:
            self.generation -= 1  # the same worker, asked of the new fork server
            self.pending = self._spawn()

    def _promote(self) -> None:
        assert self.pending is not None
        old, self.current, self.pending = self.current, self.pending, None
        self.current.ready = True
        if old is not None and old.poll() is None:
            old.send_signal(signal.SIGTERM)  # it stops accepting and drains
            self.retiring.append(old)
        took = (time.perf_counter() - self.restart_started) * 1000
        info = self.restart_info or {}
        changed = ", ".join(info.get("changed", [])) or "worker"
        log.info("reload: %s -> new worker %s (restart, %s) in %.0f ms", changed,
                 self.current.generation, info.get("reason", "worker exited"), took)
        self.restart_info = None

    def _reap(self) -> None:
        for worker in list(self.retiring):
            if worker.poll() is not None:
                self.retiring.remove(worker)
        self.retired = [p for p in self.retired if p.poll() is None]
        if self._stopping:
            return
        pending, current = self.pending, self.current
        if pending is not None and pending.poll() is not None:
            self.pending = None
            if current is not None:
                log.error("the new worker exited with code %s before it was ready; keeping the old one",
                          pending.poll())
            else:  # NOTE: it replaced a crashed worker: nothing serves, so try again
                log.error("the new worker exited with code %s before it was ready; starting another",
                          pending.poll())
                self._replace(f"the new worker exited with code {pending.poll()} before it was ready")
            return
        if current is None or current.poll() is None:
            return
        log.error("worker exited unexpectedly (code %s): a handler may have ended the process; "
                  "starting a new one, the socket stays open", current.poll())
        self.current = None
        self._replace(f"worker exited with code {current.poll()}")

    def _replace(self, reason: str) -> None:
        """Start a worker where none serves; a crash loop is slowed down, never given up on."""
        now = time.monotonic()
        self.crashes = [t for t in self.crashes if now - t < 10] + [now]
        if len(self.crashes) > 3:
            time.sleep(min(2.0, 0.25 * len(self.crashes)))  # a crash loop: do not spin
        self.restart_info = {"changed": [], "reason": reason, "requested_at": time.time()}
        self.restart_started = time.perf_counter()
        self.pending = self._spawn()

    def _shutdown(self) -> None:
        self._stopping = True
        workers = self._workers()
        told: set[int] = set()
        deadline = time.monotonic() + 10
        while any(w.poll() is None for w in workers) and time.monotonic() < deadline:
            for worker in workers:
                if id(worker) not in told and worker.send_signal(signal.SIGTERM):
                    told.add(id(worker))  # a forked worker's pid may arrive meanwhile
            with contextlib.suppress(KeyboardInterrupt):
                self._step(0.05)
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
            if worker.proc is not None:
                worker.proc.wait()
        self._retire_forkserver()
        for server in self.retired:
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        os.close(self._read)
        os.close(self._write)
