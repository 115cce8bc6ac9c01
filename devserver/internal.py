"""devserver's own endpoints under ``/__routes*`` and ``/__devserver/*`` (dev only).

Every one of them first passes the DNS-rebinding check (:mod:`devserver.guard`); a foreign
``Host`` gets 403. Outside dev none of them exist and these paths are ordinary 404s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from .config import asset_dir
from .guard import host_allowed, origin_allowed
from .keys import CONFIG, LIVE
from .public import PublicPathError, resolve_public

__all__ = ["handle_internal", "is_internal", "register", "STATIC_PREFIX"]

Endpoint = Callable[[web.Request], Awaitable[web.StreamResponse]]
STATIC_PREFIX = "/__devserver/static/"

_EXACT: dict[str, Endpoint] = {}
_PREFIXES: list[tuple[str, Endpoint]] = []


def register(path: str, endpoint: Endpoint, *, prefix: bool = False) -> None:
    """Add an endpoint at ``path`` (or every path under it, with ``prefix=True``)."""
    if prefix:
        _PREFIXES.append((path, endpoint))
        _PREFIXES.sort(key=lambda item: -len(item[0]))
    else:
        _EXACT[path] = endpoint


def is_internal(path: str) -> bool:
    return path == "/__routes" or path.startswith(("/__routes.", "/__routes/", "/__devserver/"))


async def handle_internal(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    if not host_allowed(request.headers.get("Host"), config.host):
        return web.json_response(
            {"error": {"status": 403, "message": "devserver's own pages answer only requests for this "
                                                 "machine (loopback Host); this Host is not allowed"}},
            status=403)
    path = request.path
    endpoint = _EXACT.get(path)
    if endpoint is None:
        for prefix, candidate in _PREFIXES:
            if path.startswith(prefix):
                endpoint = candidate
                break
    if endpoint is None:
        return web.json_response({"error": {"status": 404, "message": f"no devserver endpoint {path}"}},
                                 status=404)
    return await endpoint(request)


async def _websocket(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    if not origin_allowed(request.headers.get("Origin"), request.headers.get("Host"), config.host):
        return web.json_response(
            {"error": {"status": 403, "message": "WebSocket refused: its Origin is not this server"}},
            status=403)
    return await request.app[LIVE].serve(request)


async def _static(request: web.Request) -> web.StreamResponse:
    try:
        path = resolve_public(asset_dir("static"), request.raw_path[len(STATIC_PREFIX):].split("?")[0])
    except PublicPathError as exc:
        return web.json_response({"error": {"status": exc.status, "message": exc.reason}},
                                 status=exc.status)
    return web.FileResponse(path, headers={"Cache-Control": "no-cache"})


register("/__devserver/ws", _websocket)
register(STATIC_PREFIX, _static, prefix=True)

from . import dashboard as _dashboard  # noqa: E402,F401 - registers /__routes, /__routes.json, /__routes/match
