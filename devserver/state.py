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
from .routing import Explanation, RouteFile, RouteTable, build_table

__all__ = ["AppState", "CurrentState", "build_state", "PREFLIGHT"]

PREFLIGHT = "app/preflight.py"


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
    files: tuple[RouteFile, ...] = ()  # what discovery found, for a reload that adds or removes one

    def explain(self, path: str, method: str = "GET") -> Explanation:
        """The table's explanation, plus what the winner's module says (broken: a 500)."""
        explanation = self.table.explain(path, method, self.methods)
        module = self.modules.get(explanation.winner) if explanation.winner else None
        if module is not None and module.error is not None and explanation.status < 500:
            return replace(explanation, status=500, summary=f"broken module: {module.error.message}")
        return explanation


class CurrentState:
    """The one mutable cell that holds the current snapshot.

    aiohttp freezes an application's mapping once it starts (assigning a key after that is
    deprecated), so a reload swaps the snapshot inside this holder instead. Reading ``.state`` once
    per request gives that request one consistent snapshot until it finishes.
    """

    __slots__ = ("state",)

    def __init__(self, state: AppState) -> None:
        self.state = state


def build_state(config: Config, previous: AppState | None = None,
                fresh: frozenset[str] = frozenset(), *, rescan: bool = True,
                files: tuple[RouteFile, ...] | None = None) -> AppState:
    """Discover the files, build the table and import the API modules (files in, state out).

    With ``previous``, modules whose file is not in ``fresh`` (display paths such as
    ``app/api/index.py``, or ``app/preflight.py``) are reused as they are: a reload imports only
    what changed. ``rescan=False`` also reuses the route table (no file was added or removed).
    ``files`` (with ``previous``) is discovery's list already brought up to date by the caller, who
    saw which route files came and went: the table is built from it without walking the tree.
    """
    ensure_importable(config.root)
    if files is not None and previous is not None:
        table, warnings = build_table(files, previous=previous.table), previous.warnings
    elif rescan or previous is None:
        found = discover(config.root)
        table = build_table(found.files, previous=previous.table if previous is not None else None)
        warnings, files = found.warnings, found.files
    else:
        table, warnings, files = previous.table, previous.warnings, previous.files
    modules: dict[str, RouteModule] = {}
    old = {m.file: m for m in previous.modules.values()} if previous is not None else {}
    for route in table.routes:
        if route.api_file is None:
            continue
        reused = old.get(route.api_file)
        if reused is not None and route.api_file not in fresh:
            modules[route.id] = reused
            continue
        path = config.root / route.api_file
        modules[route.id] = load_route_module(config.root, path, route.api_file)
    methods = {rid: _methods(rid, m, previous) for rid, m in modules.items() if m.error is None}
    for route in table.routes:
        if route.has_page:
            # A page answers GET and HEAD on its own; the API adds its methods.
            methods[route.id] = methods.get(route.id, frozenset({"OPTIONS"})) | {"GET", "HEAD"}
    if previous is not None and PREFLIGHT not in fresh:
        preflight, preflight_error = previous.preflight, previous.preflight_error
    else:
        preflight, preflight_error = _preflight(config)
    return AppState(table, modules, methods, warnings, preflight, preflight_error, files=files)


def _methods(rid: str, module: RouteModule, previous: AppState | None) -> frozenset[str]:
    """The methods ``module`` answers. PERF: a module reused as it is answers what it did (with
    10,000 routes, asking each module again took longer than the rest of a reload)."""
    if previous is not None and previous.modules.get(rid) is module:
        route = previous.table.get(rid)
        if route is not None and not route.has_page and rid in previous.methods:
            return previous.methods[rid]  # a page adds GET and HEAD: only a route without one
    return module.methods


def _preflight(config: Config) -> tuple[BoundHandler | None, LoadError | None]:
    path = config.root / PREFLIGHT
    if not path.is_file():
        return None, None
    fn, error = load_preflight(config.root, path, PREFLIGHT)
    if fn is None:
        return None, error
    return BoundHandler(fn, "preflight", inspect.iscoroutinefunction(fn), 0), None
