"""A worker process: serves the app on a listening socket inherited from the supervisor.

Started by :mod:`devserver.supervisor` as ``python -m devserver.worker`` with its settings in the
``DEVSERVER_WORKER`` environment variable. It tells the supervisor over a pipe when it is ready
and when a change needs a restart; on SIGTERM it stops accepting, finishes the requests it has,
and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import eventloop
from .config import Config
from .logs import configure_logging

if TYPE_CHECKING:  # NOTE: imported where used: the supervisor imports this module for worker_env
    from aiohttp import web

    from .live import ReloadReport

__all__ = ["main", "serve_on", "worker_env"]

log = logging.getLogger("devserver")
ENV = "DEVSERVER_WORKER"
# Seconds between closing the listener and closing idle connections: long enough for a loaded
# machine to read the request of a connection accepted just before the signal.
DRAIN_GRACE = 1.0


def worker_env(config: Config, fd: int, control: int, generation: int) -> dict[str, str]:
    settings = {**asdict(config), "root": str(config.root), "fd": fd, "control": control,
                "generation": generation}
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
        # Stop accepting first, then give connections accepted just before the signal time to
        # send their request: cleanup() closes connections that have not sent one yet, and a
        # client would see that as a dropped request during a restart.
        await site.stop()
        await asyncio.sleep(DRAIN_GRACE)
        with contextlib.suppress(Exception):
            await app[LIVE].close_all()
        await runner.cleanup()


async def _main(settings: dict[str, Any]) -> None:
    from .cli import announce
    from .keys import RESTART
    from .server import create_app

    control = _Control(settings.pop("control", None))
    fd = settings.pop("fd")
    generation = settings.pop("generation", 1)
    config = Config(**{**settings, "root": Path(settings["root"])})
    sock = socket.socket(fileno=fd)
    sock.setblocking(False)
    stop = asyncio.Event()

    async def restart(report: ReloadReport) -> None:
        # The supervisor starts a new worker; once it is ready, this one gets SIGTERM and drains.
        control.send(restart=report.as_dict())

    app = create_app(config)
    app[RESTART] = restart

    def ready() -> None:
        if generation == 1:
            announce(app, _url(sock))
        control.send(ready=True)

    watch = asyncio.create_task(_exit_with_supervisor(os.getppid(), stop))
    await serve_on(app, sock, on_ready=ready, stop=stop)
    watch.cancel()


async def _exit_with_supervisor(supervisor: int, stop: asyncio.Event) -> None:
    """Stop when the supervisor is gone (SIGKILL, a crash): an orphan would hold the port forever."""
    while os.getppid() == supervisor:
        await asyncio.sleep(0.5)
    log.warning("the supervisor (pid %s) is gone; this worker stops too", supervisor)
    stop.set()


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def main() -> int:
    configure_logging()
    settings = json.loads(os.environ[ENV])
    with contextlib.suppress(KeyboardInterrupt):
        eventloop.run(_main(settings))  # uvloop when installed (devserver[speed])
    return 0


if __name__ == "__main__":
    sys.exit(main())
