"""The supervisor of ``devserver run``: it owns the listening socket and keeps a worker serving.

The socket is bound once, here, and inherited by every worker, so it never closes while
devserver runs: during a restart, new connections wait in the kernel's backlog and are answered
by the next worker; none is refused. A restart starts the new worker first and retires the old
one only when the new one is ready (it then finishes its in-flight requests). A worker that
crashes (or whose handler ends the process) is replaced; ``devserver run`` itself does not end.
"""

from __future__ import annotations

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
from .worker import worker_env

__all__ = ["Supervisor"]

log = logging.getLogger("devserver")


@dataclass
class _Worker:
    proc: subprocess.Popen[bytes]
    generation: int
    started: float = field(default_factory=time.monotonic)
    ready: bool = False


class Supervisor:
    """Spawns, replaces and stops workers; everything happens on one thread, in :meth:`run`."""

    def __init__(self, config: Config, sock: socket.socket) -> None:
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

    def _spawn(self) -> _Worker:
        self.generation += 1
        fd = self.sock.fileno()
        env = worker_env(self.config, fd, self._write, self.generation)
        proc = subprocess.Popen([sys.executable, "-m", "devserver.worker"], env=env,
                                pass_fds=(fd, self._write))
        return _Worker(proc, self.generation)

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

    def _step(self) -> None:
        readable, _, _ = select.select([self._read], [], [], 0.05)
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

    def _handle(self, message: dict[str, Any]) -> None:
        pid = message.get("pid")
        if "ready" in message:
            if self.pending is not None and pid == self.pending.proc.pid:
                self._promote()
            elif self.current is not None and pid == self.current.proc.pid:
                self.current.ready = True
        elif "restart" in message and self.current is not None and pid == self.current.proc.pid:
            if self.pending is None:
                self.restart_info = message["restart"]
                self.restart_started = time.perf_counter()
                self.pending = self._spawn()

    def _promote(self) -> None:
        assert self.pending is not None
        old, self.current, self.pending = self.current, self.pending, None
        self.current.ready = True
        if old is not None and old.proc.poll() is None:
            old.proc.send_signal(signal.SIGTERM)  # it stops accepting and drains
            self.retiring.append(old)
        took = (time.perf_counter() - self.restart_started) * 1000
        info = self.restart_info or {}
        changed = ", ".join(info.get("changed", [])) or "worker"
        log.info("reload: %s -> new worker %s (restart, %s) in %.0f ms", changed,
                 self.current.generation, info.get("reason", "worker exited"), took)
        self.restart_info = None

    def _reap(self) -> None:
        for worker in list(self.retiring):
            if worker.proc.poll() is not None:
                self.retiring.remove(worker)
        if self.pending is not None and self.pending.proc.poll() is not None:
            log.error("the new worker exited with code %s before it was ready; keeping the old one",
                      self.pending.proc.returncode)
            self.pending = None
        current = self.current
        if current is None or current.proc.poll() is None or self._stopping:
            return
        code = current.proc.returncode
        log.error("worker exited unexpectedly (code %s): a handler may have ended the process; "
                  "starting a new one, the socket stays open", code)
        now = time.monotonic()
        self.crashes = [t for t in self.crashes if now - t < 10] + [now]
        if len(self.crashes) > 3:
            time.sleep(min(2.0, 0.25 * len(self.crashes)))  # a crash loop: do not spin
        self.restart_info = {"changed": [], "reason": f"worker exited with code {code}"}
        self.restart_started = time.perf_counter()
        self.current = None
        self.pending = self._spawn()

    def _shutdown(self) -> None:
        workers = [w for w in (self.current, self.pending, *self.retiring) if w is not None]
        for worker in workers:
            if worker.proc.poll() is None:
                worker.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for worker in workers:
            try:
                worker.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait()
        os.close(self._read)
        os.close(self._write)
