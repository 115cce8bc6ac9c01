"""A worker process: serves the app on a listening socket inherited from the supervisor.

Forked by :mod:`devserver.forkserver` (or started as ``python -m devserver.worker`` with its
settings in the ``DEVSERVER_WORKER`` environment variable where there is no fork). It tells the
supervisor over a pipe when it is ready and when a change needs a restart; on SIGTERM it stops
accepting, finishes the requests it has, closes each connection once it is idle, and exits.
A worker started by a restart shows that restart as its last reload (dashboard, ``/__routes.json``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import eventloop
from .config import Config
from .logs import configure_logging

if TYPE_CHECKING:  # NOTE: imported where used: the supervisor imports this module for worker_env
    import asyncio

    from aiohttp import web
    from aiohttp.web_protocol import RequestHandler

    from .live import ReloadReport

__all__ = ["main", "run", "serve_on", "worker_env", "worker_settings"]

log = logging.getLogger("devserver")
ENV = "DEVSERVER_WORKER"
# Seconds a connection accepted just before the listener closed may take to send its request (a
# loaded machine may be slow to): closing it unasked would drop that request during a restart.
# Connections that have been answered are closed as soon as they are idle, not after this.
DRAIN_GRACE = 1.0


def worker_settings(config: Config, fd: int, control: int, generation: int,
                    restart: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a worker needs: the config, the socket's and the pipe's fds, and why it was started."""
    return {**asdict(config), "root": str(config.root), "fd": fd, "control": control,
            "generation": generation, "restart": restart}


def worker_env(settings: dict[str, Any]) -> dict[str, str]:
    return {**os.environ, ENV: json.dumps(settings)}


class _Control:
    """The write end of the pipe to the supervisor: one JSON line per message."""

    def __init__(self, fd: int | None) -> None:
        self.fd = fd

    def send(self, **message: Any) -> None:
        if self.fd is None:
            return
        line = (json.dumps({"pid": os.getpid(), **message}) + "\n").encode()
        with contextlib.suppress(OSError):
            os.write(self.fd, line)


async def serve_on(app: web.Application, sock: socket.socket, *, on_ready: Any = None,
                   stop: asyncio.Event | None = None) -> None:
    """Serve ``app`` on ``sock`` until ``stop`` is set; finish in-flight requests, then return."""
    import asyncio

    from aiohttp import web

    from .keys import LIVE

    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=10)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    if on_ready is not None:
        on_ready()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await site.stop()  # the socket stays open in the supervisor: new connections wait there
        with contextlib.suppress(Exception):
            await app[LIVE].close_all()  # open pages reconnect to the next worker now
        await _drain(runner.server)
        await runner.cleanup()


async def _drain(server: web.Server | None) -> None:
    """Close every connection as soon as it has nothing left to answer, within ``DRAIN_GRACE``.

    An idle keep-alive connection would otherwise be answered here, by the old code, until the
    grace ran out: a client polling over one saw a restart take a second longer. A connection
    that has not sent a request yet gets the whole grace to send it; one answering a request is
    closed after its response. (A client that sends a request on a keep-alive connection at the
    very moment it is closed sees it closed, as with any server's keep-alive timeout: HTTP
    clients retry such a request on a new connection.)
    """
    import asyncio

    if server is None:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DRAIN_GRACE
    while server.connections and loop.time() < deadline:
        for conn in server.connections:
            if getattr(conn, "_request_count", 0) == 0:
                continue  # it has not sent its first request yet: the grace is for it to send it
            if not _waiting(conn):
                conn.close()  # answering a request: closed after its response
            elif not _received(conn):
                conn.force_close()  # idle between requests
        await asyncio.sleep(0.02)


def _waiting(conn: RequestHandler) -> bool:
    """Whether ``conn`` waits for its next request, with none queued.

    NOTE: aiohttp has no public "idle" flag; this is its own test before it closes a connection
    whose keep-alive ran out (``RequestHandler._process_keepalive``). ``close()`` on a connection
    that waits would cancel the wait and ignore the request it then sends: never done here.
    """
    waiter = getattr(conn, "_waiter", None)
    return waiter is not None and not waiter.done() and not getattr(conn, "_messages", None)


def _received(conn: RequestHandler) -> bool:
    """Whether bytes the event loop has not read yet wait on the connection's socket."""
    transport = conn.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None:
        return False
    try:
        with socket.fromfd(sock.fileno(), socket.AF_INET, socket.SOCK_STREAM) as peek:
            return bool(peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except OSError:  # BlockingIOError: nothing there
        return False


def run(settings: dict[str, Any]) -> int:
    """Serve as one supervised worker until told to stop; the exit code."""
    with contextlib.suppress(KeyboardInterrupt):
        eventloop.run(_main(settings))  # uvloop when installed (devserver[speed])
    return 0


async def _main(settings: dict[str, Any]) -> None:
    import asyncio

    from .cli import announce
    from .keys import LIVE, RESTART
    from .server import create_app

    control = _Control(settings.pop("control", None))
    fd = settings.pop("fd")
    generation = settings.pop("generation", 1)
    restarted = settings.pop("restart", None)
    config = Config(**{**settings, "root": Path(settings["root"])})
    sock = socket.socket(fileno=fd)
    sock.setblocking(False)
    stop = asyncio.Event()

    async def restart(report: ReloadReport) -> None:
        # The supervisor starts a new worker; once it is ready, this one gets SIGTERM and drains.
        control.send(restart=_brief(report))

    app = create_app(config)
    app[RESTART] = restart
    if restarted is not None:
        app[LIVE].last_reload = _restart_report(restarted, generation)

    def ready() -> None:
        if generation == 1:
            announce(app, _url(sock))
        if restarted is not None:
            app[LIVE].last_reload = _restart_report(restarted, generation)
        control.send(ready=True, generation=generation)

    watch = asyncio.create_task(_exit_with_parent(os.getppid(), stop))
    await serve_on(app, sock, on_ready=ready, stop=stop)
    watch.cancel()


def _brief(report: ReloadReport, most: int = 20) -> dict[str, Any]:
    """What the supervisor and the next worker need of a restart, kept short.

    NOTE: one line on a pipe that other processes write to: under PIPE_BUF (4 KiB) it is written
    in one piece, never interleaved with theirs (a checkout that touches 500 files would not be).
    """
    changed = list(report.changed)
    if len(changed) > most:
        changed = changed[:most] + [f"... and {len(changed) - most} more"]
    return {"changed": changed, "reason": report.reason[:500],
            "errors": [e[:500] for e in report.errors[:3]], "at": report.at}


def _restart_report(info: dict[str, Any], generation: int) -> ReloadReport:
    """The restart that started this worker, as its last reload: what changed, why, how long it
    took from the request to now (this worker ready)."""
    from .live import ReloadReport

    requested = float(info.get("requested_at") or time.time())
    return ReloadReport(tuple(info.get("changed", ())), ("worker",), "restart",
                        str(info.get("reason", "restart")), (time.time() - requested) * 1000,
                        tuple(info.get("errors", ())), everything=True, at=time.time(),
                        extra={"generation": generation})


async def _exit_with_parent(parent: int, stop: asyncio.Event) -> None:
    """Stop when the process that started this one is gone (the supervisor, or its fork server,
    killed or crashed): an orphan would hold the port forever."""
    import asyncio

    while os.getppid() == parent:
        await asyncio.sleep(0.5)
    log.warning("the supervisor (pid %s) is gone; this worker stops too", parent)
    stop.set()


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def main() -> int:
    configure_logging()
    return run(json.loads(os.environ[ENV]))


if __name__ == "__main__":
    sys.exit(main())
