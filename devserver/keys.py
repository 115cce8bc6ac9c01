"""Every ``web.AppKey`` devserver keeps on its application, in one place."""

from __future__ import annotations

import jinja2
from aiohttp import web

from .config import Config
from .pages import PageRenderer
from .state import AppState

__all__ = ["CONFIG", "STATE", "OWN_TEMPLATES", "PAGES"]

CONFIG = web.AppKey("devserver_config", Config)
# The current routes and modules. A reload builds a new AppState and swaps this one reference,
# so a request keeps the state it started with.
STATE = web.AppKey("devserver_state", AppState)
OWN_TEMPLATES = web.AppKey("devserver_own_templates", jinja2.Environment)
# The Jinja2 environment over app/pages; auto_reload picks up saved templates.
PAGES = web.AppKey("devserver_pages", PageRenderer)
