"""CORS for a frontend served from another origin (``devserver run --cors``; off by default).

With it on, a request that carries an ``Origin`` gets that origin back in
``Access-Control-Allow-Origin`` (with credentials allowed), and a preflight (``OPTIONS`` with
``Access-Control-Request-Method``) is answered 204 here, before routing and before any test
control, so a route made to fail still tells the browser it may read the failure.
devserver's own ``/__devserver/*`` endpoints never get CORS headers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from .journal import is_own_path

__all__ = ["cors_middleware", "ALLOW_METHODS"]

ALLOW_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
MAX_AGE = "600"
# Response headers a browser shows to scripts without being told (the CORS safelist).
_SAFELISTED = frozenset({"cache-control", "content-language", "content-length", "content-type",
                         "expires", "last-modified", "pragma", "set-cookie"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    origin = request.headers.get("Origin")
    if origin is None or is_own_path(request.path):
        return await handler(request)
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        return preflight(request, origin)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        allow(exc, origin)
        raise
    allow(response, origin)
    return response


def preflight(request: web.Request, origin: str) -> web.Response:
    """204 with what the browser asked for: any method, the headers it named, for 10 minutes."""
    headers = {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": ALLOW_METHODS,
        "Access-Control-Max-Age": MAX_AGE,
        "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
    }
    wanted = request.headers.get("Access-Control-Request-Headers")
    if wanted:
        headers["Access-Control-Allow-Headers"] = wanted
    if request.headers.get("Access-Control-Request-Private-Network") == "true":
        headers["Access-Control-Allow-Private-Network"] = "true"  # Chrome, page on a public origin
    return web.Response(status=204, headers=headers)


def allow(response: web.StreamResponse, origin: str) -> None:
    """Let ``origin`` read ``response``, its cookies and every header it carries."""
    if response.prepared:
        return  # streamed by the handler: its headers are already sent
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = origin
    headers["Access-Control-Allow-Credentials"] = "true"
    exposed = sorted({name for name in headers if name.lower() not in _SAFELISTED
                      and not name.lower().startswith("access-control-")})
    if exposed:
        headers["Access-Control-Expose-Headers"] = ", ".join(exposed)
    vary = headers.get("Vary")
    if vary is None:
        headers["Vary"] = "Origin"
    elif "origin" not in {v.strip().lower() for v in vary.split(",")} and vary.strip() != "*":
        headers["Vary"] = f"{vary}, Origin"
