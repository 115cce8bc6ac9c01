"""The live channel: one WebSocket at ``/__devserver/ws`` for open pages and the dashboard.

Every connected client is sent a JSON message for every reload (no subscription needed,
DESIGN §5). The injected page client reloads when a route it shows was touched, swaps CSS in
place, and after a restart reconnects and reloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from aiohttp import WSMsgType, web

__all__ = ["LiveHub", "ReloadReport", "RestartHook", "client_snippet"]

log = logging.getLogger("devserver")


@dataclass(frozen=True, slots=True)
class ReloadReport:
    """What one reload did; logged in one line and sent to every client."""

    changed: tuple[str, ...]
    reloaded: tuple[str, ...]
    mode: str  # "in place" | "restart" | "css" | "browser"
    reason: str
    duration_ms: float
    errors: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()  # route ids whose answer may have changed
    everything: bool = False  # every page may have changed (a layout, a shared helper, a restart)
    css: tuple[str, ...] = ()  # /_public/... stylesheets to swap in place
    at: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        changed = ", ".join(self.changed) or "nothing"
        what = ", ".join(self.reloaded) or "nothing to re-import"
        errors = f"; errors: {'; '.join(self.errors)}" if self.errors else ""
        return (f"reload: {changed} changed -> {what} ({self.mode}, {self.reason}) in "
                f"{self.duration_ms:.1f} ms{errors}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": "reload",
            "changed": list(self.changed),
            "reloaded": list(self.reloaded),
            "mode": self.mode,
            "reason": self.reason,
            "duration_ms": round(self.duration_ms, 2),
            "errors": list(self.errors),
            "routes": list(self.routes),
            "everything": self.everything,
            "css": list(self.css),
            "at": self.at,
            **self.extra,
        }


# Called when a change cannot be applied in place; the worker asks its supervisor for a restart.
RestartHook = Callable[["ReloadReport"], Awaitable[None]]


class LiveHub:
    """The connected WebSockets and the last reload, owned by one application."""

    def __init__(self) -> None:
        self.clients: set[web.WebSocketResponse] = set()
        self.last_reload: ReloadReport | None = None

    async def broadcast(self, message: dict[str, Any]) -> None:
        text = json.dumps(message, ensure_ascii=False)
        for ws in list(self.clients):
            if ws.closed:
                self.clients.discard(ws)
                continue
            try:
                await ws.send_str(text)
            except (ConnectionError, RuntimeError):
                self.clients.discard(ws)

    async def announce(self, report: ReloadReport) -> None:
        self.last_reload = report
        await self.broadcast(report.as_dict())

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        self.clients.add(ws)
        try:
            await ws.send_str(json.dumps({"type": "hello"}))
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
        except (asyncio.CancelledError, ConnectionError):
            pass
        finally:
            self.clients.discard(ws)
        return ws

    async def close_all(self) -> None:
        for ws in list(self.clients):
            with contextlib.suppress(Exception):
                await ws.close(code=1012, message=b"server restarting")
        self.clients.clear()


@lru_cache(maxsize=1024)
def client_snippet(route_id: str | None) -> str:
    """The script tag injected into every HTML page devserver serves in dev (PERF: cached)."""
    rid = json.dumps(route_id)
    return (f'<script src="/__devserver/static/live.js" data-route=\'{_attr(rid)}\' '
            'id="devserver-live" defer></script>')


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;")
