"""Production entry for gunicorn's aiohttp worker (DESIGN §9).

    DEVSERVER_ROOT=/srv/myapp gunicorn 'devserver.serve:app' -k aiohttp.GunicornWebWorker -w 4

Each worker builds ``create_app(root, dev=False)``: no reload, no dashboard, no tracebacks or file
paths. Sessions are encrypted cookies, so workers share nothing but the secret: set
``DEVSERVER_SECRET``, or let the first worker create ``ROOT/.devserver/secret`` (created
exclusively, so concurrent workers agree on one).
"""

from __future__ import annotations

import os
from pathlib import Path

from aiohttp import web

from .server import create_app

__all__ = ["app", "ROOT_ENV"]

ROOT_ENV = "DEVSERVER_ROOT"


async def app() -> web.Application:
    """The application factory gunicorn's ``aiohttp.GunicornWebWorker`` calls in each worker."""
    root = Path(os.environ.get(ROOT_ENV, ".")).resolve()
    if not (root / "app").is_dir():
        raise SystemExit(f"devserver: error: {ROOT_ENV}={root} has no app/ folder")
    return create_app(root, dev=False)
