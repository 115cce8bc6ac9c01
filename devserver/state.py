"""One consistent snapshot of the app: route table, loaded modules and exported methods.

Built on the side at start-up and on every reload, then swapped in with one assignment.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field, replace

from .config import Config
from .discovery import discover
from .loader import BoundHandler, LoadError, RouteModule, ensure_importable, load_preflight, load_route_module
from .routing import Explanation, RouteTable, build_table

__all__ = ["AppState", "build_state"]


@dataclass(frozen=True, slots=True)
class AppState:
    """Routes, the modules behind them, and what discovery could not read."""

    table: RouteTable
    modules: dict[str, RouteModule]
    methods: dict[str, frozenset[str]]
    warnings: tuple[str, ...] = ()
    # app/preflight.py: its function when it loaded, its error when it did not, neither when absent.
    preflight: BoundHandler | None = None
    preflight_error: LoadError | None = None
    built_at: float = field(default_factory=time.time)

    def explain(self, path: str, method: str = "GET") -> Explanation:
        """The table's explanation, plus what the winner's module says (broken: a 500)."""
        explanation = self.table.explain(path, method, self.methods)
        module = self.modules.get(explanation.winner) if explanation.winner else None
        if module is not None and module.error is not None and explanation.status < 500:
            return replace(explanation, status=500, summary=f"broken module: {module.error.message}")
        return explanation


def build_state(config: Config) -> AppState:
    """Discover the files, build the table and import every API module (files in, state out)."""
    ensure_importable(config.root)
    found = discover(config.root)
    table = build_table(found.files)
    modules: dict[str, RouteModule] = {}
    for route in table.routes:
        if route.api_file is None:
            continue
        path = config.root / route.api_file
        modules[route.id] = load_route_module(config.root, path, route.api_file)
    methods = {rid: m.methods for rid, m in modules.items() if m.error is None}
    for route in table.routes:
        if route.has_page:
            # A page answers GET and HEAD on its own; the API adds its methods.
            methods[route.id] = methods.get(route.id, frozenset({"OPTIONS"})) | {"GET", "HEAD"}
    preflight, preflight_error = _preflight(config)
    return AppState(table, modules, methods, found.warnings, preflight, preflight_error)


def _preflight(config: Config) -> tuple[BoundHandler | None, LoadError | None]:
    path = config.app_dir / "preflight.py"
    if not path.is_file():
        return None, None
    fn, error = load_preflight(config.root, path, "app/preflight.py")
    if fn is None:
        return None, error
    return BoundHandler(fn, "preflight", inspect.iscoroutinefunction(fn), 0), None
