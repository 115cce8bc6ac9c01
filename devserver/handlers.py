"""Calling user code: route handlers and preflight, sync or async, with failures captured.

Whatever a user's function does (raise, call ``sys.exit()``, return the wrong type), the result
is a value or a :class:`HandlerFailure`; the server itself never sees the exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from .loader import BoundHandler
from .request import Req
from .responses import Result, ResultError, normalize
from .state import AppState

__all__ = ["HandlerFailure", "call_raw", "checked", "run_preflight", "override_method"]

_OVERRIDABLE = frozenset({"PUT", "PATCH", "DELETE"})


class HandlerFailure(Exception):
    """A user's function failed: ``exc`` is what it raised, or None for a bad return value."""

    def __init__(self, message: str, exc: BaseException | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.exc = exc

    @classmethod
    def of(cls, exc: BaseException) -> HandlerFailure:
        """The failure for what a user's function raised, named by its type."""
        return cls(f"{type(exc).__name__}: {exc}", exc)


async def _invoke(handler: BoundHandler, req: Req) -> Any:
    if handler.is_async:
        return await handler.fn(req)
    # NOTE: plain `def` handlers run in a thread so a blocking call cannot stall the server.
    value = await asyncio.to_thread(handler.fn, req)
    if asyncio.iscoroutine(value):
        value = await value
    return value


def checked(value: object, where: str) -> Result | web.StreamResponse:
    """:func:`normalize`, with a bad return value as a :class:`HandlerFailure`."""
    try:
        return normalize(value, where)
    except web.HTTPException:
        raise
    except ResultError as exc:
        raise HandlerFailure(str(exc)) from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a user's Mapping may raise anything
        raise HandlerFailure.of(exc) from None


async def call_raw(handler: BoundHandler, req: Req) -> Any:
    """Run a route handler; its return value unchecked (:func:`checked` checks it).

    aiohttp's HTTPException passes through; anything else the handler raises is a HandlerFailure.
    """
    try:
        return await _invoke(handler, req)
    except web.HTTPException:
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a user's handler may raise anything
        raise HandlerFailure.of(exc) from None


async def run_preflight(state: AppState, req: Req) -> dict[str, Any]:
    """``app/preflight.py``'s dict for an HTML request, or ``{}`` when there is none."""
    if state.preflight_error is not None:
        raise HandlerFailure(state.preflight_error.message)
    if state.preflight is None:
        return {}
    try:
        value = await _invoke(state.preflight, req)
    except web.HTTPException:
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001
        raise HandlerFailure.of(exc) from None
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise HandlerFailure(f"app/preflight.py: preflight() returned {type(value).__name__}; "
                             "return a dict, the base of every page's store")
    return dict(value)


def override_method(body: Any, method: str) -> str:
    """An HTML form may POST ``_method=delete|put|patch`` (DESIGN §3); the field is removed."""
    if isinstance(body, dict):
        wanted = body.pop("_method", None)
        if isinstance(wanted, str) and wanted.upper() in _OVERRIDABLE:
            return wanted.upper()
    return method
