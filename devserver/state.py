"""One consistent snapshot of the app: route table, loaded modules and exported methods.

Built on the side at start-up and on every reload, then swapped in with one assignment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from .config import Config
from .discovery import discover
from .loader import RouteModule, ensure_importable, load_route_module
from .routing import Explanation, RouteTable, build_table

__all__ = ["AppState", "build_state"]


@dataclass(frozen=True, slots=True)
class AppState:
    """Routes, the modules behind them, and what discovery could not read."""

    table: RouteTable
    modules: dict[str, RouteModule]
    methods: dict[str, frozenset[str]]
    warnings: tuple[str, ...] = ()
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
    return AppState(table, modules, methods, found.warnings)
