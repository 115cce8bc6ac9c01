"""Every ``web.AppKey`` devserver keeps on its application, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jinja2
from aiohttp import web

from .config import Config
from .imports import ImportGraph
from .live import LiveHub, RestartHook
from .pages import PageRenderer
from .state import CurrentState

if TYPE_CHECKING:  # they import this module
    from .controls import Controls
    from .journal import Journal

__all__ = ["CONFIG", "STATE", "OWN_TEMPLATES", "PAGES", "LIVE", "RESTART", "GRAPH", "JOURNAL", "CONTROLS"]

CONFIG = web.AppKey("devserver_config", Config)
# The current routes and modules: a holder whose ``.state`` a reload replaces with a new AppState
# in one assignment, so a request keeps the snapshot it started with.
STATE = web.AppKey("devserver_state", CurrentState)
OWN_TEMPLATES = web.AppKey("devserver_own_templates", jinja2.Environment)
# The Jinja2 environment over app/pages; auto_reload picks up saved templates.
PAGES = web.AppKey("devserver_pages", PageRenderer)
# The WebSocket clients (open pages, the dashboard) and the last reload.
LIVE = web.AppKey("devserver_live", LiveHub)
# Set by a supervised worker: how to ask for a restart when a change cannot be applied in place.
RESTART: web.AppKey[RestartHook] = web.AppKey("devserver_restart")
# The import graph of project modules (dev with reload only).
GRAPH = web.AppKey("devserver_import_graph", ImportGraph)
# The request journal and the per-route controls (dev only; devserver.journal, devserver.controls).
JOURNAL: web.AppKey[Journal] = web.AppKey("devserver_journal")
CONTROLS: web.AppKey[Controls] = web.AppKey("devserver_controls")
