"""Every ``web.AppKey`` devserver keeps on its application, in one place."""

from __future__ import annotations

import jinja2
from aiohttp import web

from .config import Config
from .state import AppState

__all__ = ["CONFIG", "STATE", "OWN_TEMPLATES"]

CONFIG = web.AppKey("devserver_config", Config)
# The current routes and modules. A reload builds a new AppState and swaps this one reference,
# so a request keeps the state it started with.
STATE = web.AppKey("devserver_state", AppState)
OWN_TEMPLATES = web.AppKey("devserver_own_templates", jinja2.Environment)
