"""One consistent snapshot of the app: route table, loaded modules and exported methods.

Built on the side at start-up and on every reload, then swapped in with one assignment.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field, replace

from .config import Config
from .discovery import discover, route_file
from .loader import BoundHandler, LoadError, RouteModule, ensure_importable, load_preflight, load_route_module
from .routing import Explanation, Route, RouteFile, RouteTable, build_table
from .routing.explain import explain_miss
from .routing.paths import InvalidPath, normalize_raw, split_path
from .routing.precedence import SortKey, sort_key

__all__ = ["AppState", "CurrentState", "build_state", "PREFLIGHT"]

PREFLIGHT = "app/preflight.py"


@dataclass(frozen=True, slots=True)
class AppState:
    """Routes, the modules behind them, and what discovery could not read."""

    table: RouteTable
    modules: dict[str, RouteModule]  # by route id; in rank order only in a first build
    methods: dict[str, frozenset[str]]
    warnings: tuple[str, ...] = ()
    # app/preflight.py: its function when it loaded, its error when it did not, neither when absent.
    preflight: BoundHandler | None = None
    preflight_error: LoadError | None = None
    built_at: float = field(default_factory=time.time)
    files: tuple[RouteFile, ...] = ()  # what discovery found, for a reload that adds or removes one
    # The files of the modules that failed to load (``modules`` with an error), kept so a reload
    # need not walk 10,000 modules to find the few to retry.
    broken: frozenset[str] = frozenset()

    def module_id(self, file: str) -> str | None:
        """The route id whose module is ``file`` (``app/api/users/[id].py``), when there is one.

        PERF: no walk of the routes: the route of an API file has the id discovery gives that
        file, and its module is held under that id.
        """
        found = route_file(file)
        if found is None or found.kind != "api":
            return None
        module = self.modules.get(found.id)
        return found.id if module is not None and module.file == file else None

    def explain(self, path: str, method: str = "GET") -> Explanation:
        """The table's explanation, plus what the winner's module says (broken: a 500)."""
        explanation = self.table.explain(path, method, self.methods)
        module = self.modules.get(explanation.winner) if explanation.winner else None
        if module is not None and module.error is not None and explanation.status < 500:
            return replace(explanation, status=500, summary=f"broken module: {module.error.message}")
        return explanation

    def explain_miss(self, path: str, method: str = "GET") -> Explanation:
        """A dev 404's explanation: only the routes that came closest, at a cost that does not
        grow with the app (``routing.explain_miss``); the full one when ``path`` does match."""
        raw = normalize_raw(path)
        try:
            segs = split_path(raw)
            missed = self.table.match(raw) is None
        except InvalidPath:
            missed = False
        if not missed:
            return self.explain(path, method)
        return explain_miss(self.table, segs, method=method.upper(), path=raw)


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
    changes = table.changes_since(previous.table) if previous is not None else None
    if previous is not None and changes is not None:
        modules, methods, broken = _updated(config, previous, table, changes, fresh)
    else:
        modules, methods = _modules(config, previous, table, fresh)
        broken = frozenset(m.file for m in modules.values() if m.error is not None)
    if previous is not None and PREFLIGHT not in fresh:
        preflight, preflight_error = previous.preflight, previous.preflight_error
    else:
        preflight, preflight_error = _preflight(config)
    return AppState(table, modules, methods, warnings, preflight, preflight_error, files=files,
                    broken=broken)


def _modules(config: Config, previous: AppState | None, table: RouteTable,
             fresh: frozenset[str]) -> tuple[dict[str, RouteModule], dict[str, frozenset[str]]]:
    """Every route's module and methods, route by route (a first build, or a new table)."""
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
            methods[route.id] = _with_page(methods.get(route.id))
    return modules, methods


def _updated(config: Config, previous: AppState, table: RouteTable,
             changes: tuple[tuple[Route, ...], tuple[Route, ...]], fresh: frozenset[str],
             ) -> tuple[dict[str, RouteModule], dict[str, frozenset[str]], frozenset[str]]:
    """What :func:`_modules` gives, from ``previous`` and only the ids that changed: those of the
    routes the table replaced (``changes``, see ``RouteTable.changes_since``) and those whose
    module is in ``fresh``; every other id keeps its module and methods as they were.

    PERF: with 10,000 routes, walking every route (twice) and every module was most of a
    reload that adds one file (~30 ms); copying the two dicts takes a fraction of a millisecond.
    """
    removed, added = changes
    # Each changed id as it is now: its sort key, its API file, whether it has a page. Every
    # route of an id whose routes changed is in ``added``.
    now: dict[str, tuple[SortKey, str | None, bool]] = {}
    for route in added:
        _key, api, page = now.get(route.id, (None, None, False))
        now[route.id] = (sort_key(route.id, route.segments), api or route.api_file,
                         page or route.has_page)
    ids = {route.id for route in removed} | now.keys()
    for file in fresh:
        rid = previous.module_id(file)
        last = table.get(rid) if rid is not None and rid not in ids else None
        if rid is not None and last is not None:
            # Its routes did not change, only its module. NOTE: ``get`` gives the last route of
            # an id, and a page standing alone under an API's id ranks after that API: so the
            # last route has a page when any route of the id has one.
            now[rid] = (sort_key(rid, last.segments), file, last.has_page)
            ids.add(rid)
    modules = dict(previous.modules)
    methods = dict(previous.methods)
    broken = set(previous.broken)
    for rid in ids:
        gone = modules.pop(rid, None)
        methods.pop(rid, None)
        if gone is not None and gone.error is not None:
            broken.discard(gone.file)
    # Modules load in rank order, as in _modules (the routes of one id share their key).
    for rid, (_key, api, page) in sorted(now.items(), key=lambda item: item[1][0]):
        if api is not None:
            module = previous.modules.get(rid)
            if module is None or module.file != api or api in fresh:
                module = load_route_module(config.root, config.root / api, api)
            modules[rid] = module
            if module.error is None:
                methods[rid] = module.methods
            else:
                broken.add(module.file)
        if page:
            methods[rid] = _with_page(methods.get(rid))
    return modules, methods, frozenset(broken)


def _with_page(api: frozenset[str] | None) -> frozenset[str]:
    """A page answers GET and HEAD on its own; an API module adds its methods."""
    return (api if api is not None else frozenset({"OPTIONS"})) | {"GET", "HEAD"}


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
