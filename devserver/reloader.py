"""Applying file changes in place: classify a burst of events, re-import, swap state (DESIGN §5).

- a route file added, removed or renamed: rescan and swap in a new route table in one step;
- a ``.py`` file changed under ROOT: re-import it and every module that imported it;
- a template changed: drop Jinja's compiled copy, the next render reads the file;
- ``public/``: stylesheets are swapped in open pages, anything else reloads them;
- ``pyproject.toml``, ``.env``, a module outside ROOT, or an in-place reload that raised: restart
  the worker (the supervisor keeps the socket, so requests wait rather than fail).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from aiohttp import web

from .discovery import files_after
from .imports import ImportGraph
from .keys import CONFIG, GRAPH, LIVE, PAGES, RESTART, STATE
from .live import ReloadReport, RestartHook
from .routing import RouteFile
from .routing.precedence import sort_key
from .state import PREFLIGHT, AppState, build_state
from .watcher import Change, Watcher, is_noise

__all__ = ["Plan", "classify", "Reloader", "RESTART_FILES", "reload_context",
           "install_import_graph"]

log = logging.getLogger("devserver")

RESTART_FILES = ("pyproject.toml", ".env", "setup.cfg", "requirements.txt")


@dataclass
class Plan:
    """What a burst of changes calls for."""

    changed: list[str] = field(default_factory=list)  # paths relative to ROOT, for the log
    tree: bool = False  # a route file or folder appeared, vanished or moved
    python: set[str] = field(default_factory=set)  # absolute .py paths under ROOT
    templates: set[str] = field(default_factory=set)  # paths relative to app/pages
    css: set[str] = field(default_factory=set)  # /_public/... URLs
    public_other: bool = False
    restart: str | None = None
    # Route files and folders that appeared, vanished or moved (relative to ROOT, and whether
    # each is a folder), so the file list can be updated without walking the whole tree.
    tree_paths: list[tuple[str, bool]] = field(default_factory=list)
    # Paths under ROOT that appeared, vanished or moved (absolute); and whether a folder did.
    moved: set[str] = field(default_factory=set)
    folders_moved: bool = False

    @property
    def empty(self) -> bool:
        return not (self.tree or self.python or self.templates or self.css or self.public_other
                    or self.restart)


def classify(root: Path, changes: list[Change]) -> Plan:
    """Sort a burst of file events into what must be done; pure (paths in, plan out)."""
    plan = Plan()
    root_text = str(root)
    for change in changes:
        for path in change.paths():
            if is_noise(path):
                continue
            if not (path == root_text or path.startswith(root_text + os.sep)):
                if path.endswith(".py"):
                    plan.restart = plan.restart or f"{path} (outside ROOT) changed"
                    plan.changed.append(path)
                continue
            if change.kind in ("created", "deleted", "moved"):
                plan.moved.add(path)
                plan.folders_moved = plan.folders_moved or change.is_dir
            rel = os.path.relpath(path, root_text).replace(os.sep, "/")
            if _apply_one(plan, rel, path, change):
                plan.changed.append(rel)
    plan.changed = list(dict.fromkeys(plan.changed))
    return plan


def _apply_one(plan: Plan, rel: str, path: str, change: Change) -> bool:
    """Record one path's change in ``plan``; False when devserver does not care about it."""
    name = rel.rsplit("/", 1)[-1]
    if "/" not in rel and (name in RESTART_FILES or name.startswith(".env")):
        plan.restart = plan.restart or f"{rel} changed"
        return True
    structural = change.kind in ("created", "deleted", "moved") or change.is_dir
    if rel == "app" or rel.startswith(("app/api/", "app/pages/")) or rel in ("app/api", "app/pages"):
        plan.tree = plan.tree or structural
        if change.kind in ("created", "deleted", "moved"):
            plan.tree_paths.append((rel, change.is_dir))
    if rel.startswith("app/pages/"):
        if rel.endswith(".html"):
            plan.templates.add(rel.removeprefix("app/pages/"))
            return True
        return structural
    if rel.startswith("public/") or rel == "public":
        if rel.endswith(".css") and not structural:
            plan.css.add("/_public/" + rel.removeprefix("public/"))
        else:
            plan.public_other = True
        return True
    if rel.endswith(".py"):
        plan.python.add(path)
        return True
    return rel == "app" or (rel.startswith("app/api") and structural)


class Reloader:
    """Owns the watcher for one app and applies every burst of changes to it."""

    def __init__(self, app: web.Application, graph: ImportGraph,
                 restart: RestartHook | None) -> None:
        self.app = app
        self.config = app[CONFIG]
        self.graph = graph
        self.restart = restart
        self.watcher: Watcher | None = None
        self._task: asyncio.Task[None] | None = None
        self._realpaths: dict[str, str] = {}  # module file -> realpath, outside ROOT only
        self._project_real: dict[str, str] = {}  # the same under ROOT, until a path under it moves
        self._linked: dict[str, str] = {}  # those of _project_real whose real path is another
        # sys.modules as last seen by _modules_for_files, and an index of it: name -> the real
        # path of its file, and real path -> names.
        self._seen: dict[str, ModuleType] = {}
        self._real_of: dict[str, str] = {}
        self._names_of: dict[str, tuple[str, ...]] = {}
        self._recheck: set[str] = set()  # names whose file's real path was forgotten
        # The route files of the last state built from files_after, by path (see apply).
        self._by_file: tuple[tuple[RouteFile, ...], dict[str | None, RouteFile]] | None = None

    async def start(self) -> None:
        self.watcher = Watcher(self.config.root, asyncio.get_running_loop())
        self.watcher.start()
        self.watcher.ensure_watches(self._extra_folders())
        self._task = asyncio.create_task(self._run(), name="devserver-reloader")
        # Resolve the library modules' paths soon after start rather than on the first save.
        asyncio.get_running_loop().call_later(0.25, self._modules_for_files, set())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self.watcher is not None:
            self.watcher.stop()

    async def _run(self) -> None:
        assert self.watcher is not None
        async for batch in self.watcher.batches():
            plan = classify(self.config.root, batch)
            if plan.empty:
                continue
            started = time.perf_counter()
            try:
                report = await self.apply(plan, started)
            except Exception as exc:  # noqa: BLE001 - our own failure: fall back to a restart
                log.exception("in-place reload failed")
                report = self._report(plan, started, "restart", f"in-place reload raised {exc!r}")
                plan.restart = report.reason
            if plan.restart:
                await self._restart(report)
                continue
            log.info("%s", report.line())
            await self.app[LIVE].announce(report)
            self.watcher.ensure_watches(self._extra_folders())

    async def apply(self, plan: Plan, started: float) -> ReloadReport:
        """Apply a plan in place and say what was done."""
        if plan.restart:
            return self._report(plan, started, "restart", plan.restart, everything=True)
        if plan.templates:
            # NOTE: Jinja's auto_reload compares mtimes; clearing the cache also catches a save
            # within the same mtime tick.
            self.app[PAGES].env.cache.clear()  # type: ignore[union-attr]
        self._forget_realpaths(plan)
        names = self._modules_for_files(plan.python)
        affected = self.graph.dependents(names) if names else set()
        stale_files = {self._display(f) for f in plan.python}
        stale_files |= {self._display(f) for f in self._files_of(affected)}
        self.graph.forget(affected)
        state: AppState = self.app[STATE].state
        if plan.python:
            # NOTE: a module that failed to import is not in sys.modules, so the graph cannot say it
            # imports the helper just saved; it may have failed on that helper: retry it too.
            stale_files |= state.broken  # PERF: kept by build_state, not a walk of every module
        if plan.tree or stale_files:
            fresh = frozenset(f for f in stale_files if f)
            files = None
            if plan.tree and state.files and not state.warnings and len(plan.tree_paths) <= 100:
                # PERF: the index of the files by path is kept from the last reload that made
                # them; rebuilding it took ~2 ms of a reload with 10,000 routes (a copy: ~0.1).
                kept = self._by_file
                by_file = (dict(kept[1]) if kept is not None and kept[0] is state.files
                           else {f.file: f for f in state.files})
                files = files_after(self.config.root, state.files, plan.tree_paths, by_file=by_file)
                self._by_file = (files, by_file) if files is not None else None
            new = build_state(self.config, state, fresh, rescan=plan.tree, files=files)
            new = await self._retry_broken(new, fresh)
            self.app[STATE].state = new  # the swap: one assignment, requests in flight keep the old one
            for warning in new.warnings:
                if warning not in state.warnings:  # app/ gone, a file skipped: say so once
                    log.warning("%s", warning)
            state = new
        return self._summary(plan, started, state, stale_files, affected, names)

    async def _retry_broken(self, state: AppState, fresh: frozenset[str]) -> AppState:
        """A module that fails right after a save may be half-written: try once more, then report."""
        broken = state.broken & fresh
        if not broken:
            return state
        await asyncio.sleep(0.1)
        assert self.watcher is not None
        if not self.watcher.queue.empty():
            return state  # more saves are coming; the next burst reloads again
        return build_state(self.config, state, broken, rescan=False)

    def _summary(self, plan: Plan, started: float, state: AppState, stale: set[str],
                 affected: set[str], names: set[str]) -> ReloadReport:
        routes: set[str] = set()
        pages = {f"app/pages/{t}" for t in plan.templates}
        if pages:  # NOTE: a page may belong to a route of another id (`users/[id].html` to `users/$id`)
            for route in state.table.routes:
                if route.api_file in stale or route.page_file in pages:
                    routes.add(route.id)
        else:  # PERF: an API module's route id is known without a walk of 10,000 routes
            routes = {rid for rid in map(state.module_id, stale) if rid is not None}
        shared_template = any(t.rsplit("/", 1)[-1].startswith("_") for t in plan.templates)
        everything = (plan.tree or plan.public_other or shared_template or PREFLIGHT in stale
                      or bool(plan.python and not routes and affected))
        reloaded = sorted(f for f in stale if f)
        if plan.tree:
            reloaded.insert(0, "route table")
        if plan.templates:
            reloaded += [f"app/pages/{t}" for t in sorted(plan.templates)]
        errors = _errors(state, stale)
        if len(affected) > len(names):
            reason = "it and the modules that import it"
        elif plan.python:
            reason = "changed module"
        else:
            reason = "route files" if plan.tree else "templates" if plan.templates else "public files"
        if plan.css and not (plan.tree or plan.python or plan.templates or plan.public_other):
            reason = "stylesheet swapped in open pages"
        mode = "css" if reason.startswith("stylesheet") else "in place"
        return self._report(plan, started, mode, reason, reloaded, errors, sorted(routes), everything)

    def _report(self, plan: Plan, started: float, mode: str, reason: str,
                reloaded: list[str] | None = None, errors: list[str] | None = None,
                routes: list[str] | None = None, everything: bool = False) -> ReloadReport:
        return ReloadReport(tuple(plan.changed), tuple(reloaded or ()), mode, reason,
                            (time.perf_counter() - started) * 1000, tuple(errors or ()),
                            tuple(routes or ()), everything, tuple(sorted(plan.css)), time.time())

    async def _restart(self, report: ReloadReport) -> None:
        await self.app[LIVE].announce(report)
        if self.restart is None:
            log.info("%s", report.line())
            log.warning("this change needs a restart of devserver to take effect")
            return
        # One line per reload: the supervisor logs this one once the new worker answers, with the
        # time it really took (here it would say "nothing to re-import ... in 0.0 ms").
        await self.restart(report)

    def _modules_for_files(self, files: set[str]) -> set[str]:
        """``ImportGraph.modules_for_files``, resolving each library module's path only once.

        NOTE: realpath stats every component of a path; doing it for every module in
        ``sys.modules`` (hundreds: aiohttp, jinja2, ...) on every save took ~17 ms of CPU, most of
        the in-place budget. Paths outside ROOT are cached; project paths until one on their way
        appears, vanishes or moves (see _forget_realpaths).

        PERF: an index of ``sys.modules`` by real path, brought up to date with the entries that
        changed since the last call (a set difference, in C): with 10,000 route modules, a walk
        of every module on every save took ~10 ms. A module's ``__file__`` is read when the
        module appears in ``sys.modules`` (or its path's real path is forgotten).
        """
        root = str(self.config.root.resolve()) + os.sep
        wanted = {os.path.realpath(f) for f in files}
        current = dict(sys.modules)  # a copy: an import in another thread may change it
        changed = {name for name, _module in current.items() ^ self._seen.items()} | self._recheck
        self._recheck = set()
        for name in changed:
            self._unindex(name)
            module = current.get(name)
            file = getattr(module, "__file__", None)
            if not isinstance(file, str):
                continue
            cache = self._project_real if file.startswith(root) else self._realpaths
            real = cache.get(file)
            if real is None:
                real = os.path.realpath(file)
                # PERF: most paths are their own real path: keep one string, not two equal ones.
                real = cache[file] = file if real == file else real
                if cache is self._project_real and real is not file:
                    self._linked[file] = real
            self._real_of[name] = real
            self._names_of[real] = (*self._names_of.get(real, ()), name)
        self._seen = current
        return {name for real in wanted for name in self._names_of.get(real, ())}

    def _unindex(self, name: str) -> None:
        real = self._real_of.pop(name, None)
        if real is None:
            return
        names = tuple(n for n in self._names_of[real] if n != name)
        if names:
            self._names_of[real] = names
        else:
            del self._names_of[real]

    def _forget_realpaths(self, plan: Plan) -> None:
        """Project paths resolved before a path on their way appeared, vanished or moved.

        PERF: resolving every project module's path on every reload took ~10k lstat calls with
        10,000 route modules. A file's real path changes only when an entry on its way does,
        and every such change under ROOT is an event: what moved is resolved again, and so is
        every file under it when it was a symlink to a folder (a real folder that moves is a
        folder event, which forgets everything). A file under such a symlink has another real
        path, so only those (``_linked``, usually none) are looked through, not all 10,000.
        """
        if plan.folders_moved or len(plan.moved) > 50:
            self._project_real.clear()
            self._linked.clear()
            self._seen = {}  # every module is indexed again
            self._real_of.clear()
            self._names_of.clear()
            return
        for path in plan.moved:
            self._forget(path)
            under = path + os.sep  # a symlink to a folder is a file event
            for file in [f for f in self._linked if f.startswith(under)]:
                self._forget(file)

    def _forget(self, file: str) -> None:
        real = self._project_real.pop(file, None)
        self._linked.pop(file, None)
        if real is not None:  # the modules of this file are indexed under its old real path
            self._recheck.update(n for n in self._names_of.get(real, ())
                                 if getattr(self._seen.get(n), "__file__", None) == file)

    def _display(self, path: str) -> str:
        try:
            return Path(path).resolve().relative_to(self.config.root.resolve()).as_posix()
        except ValueError:
            return ""

    def _files_of(self, names: set[str]) -> list[str]:
        files = []
        for name in names:
            file = getattr(sys.modules.get(name), "__file__", None)
            if isinstance(file, str):
                files.append(file)
        return files

    def _extra_folders(self) -> list[Path]:
        """Folders of imported modules outside ``app/``: project helpers, and code outside ROOT."""
        root = str(self.config.root.resolve())
        app_dir = os.path.join(root, "app")
        folders = {Path(f).parent for f in self.graph.outside_files()}
        for module in list(sys.modules.values()):
            file = getattr(module, "__file__", None)
            if isinstance(file, str) and file.startswith(root + os.sep) and not file.startswith(app_dir):
                folders.add(Path(file).parent)
        return sorted(folders)


def _errors(state: AppState, files: set[str]) -> list[str]:
    """The load errors of the modules of ``files``, in rank order.

    PERF: from the broken modules build_state keeps, not a walk of every module (whose dict is
    no longer in rank order once a reload updated it).
    """
    found = []
    for file in state.broken & files:
        rid = state.module_id(file)
        if rid is None:
            continue
        route, error = state.table.get(rid), state.modules[rid].error
        if route is not None and error is not None:
            found.append((sort_key(rid, route.segments), error.message))
    return [message for _key, message in sorted(found)]


def install_import_graph(app: web.Application) -> ImportGraph:
    """Hook imports before the first modules load, so every edge is recorded from the start."""
    graph = ImportGraph(app[CONFIG].root)
    graph.install()
    app[GRAPH] = graph
    return graph


async def reload_context(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx`` for a dev app with reload: the watcher lives as long as the app serves."""
    graph = app[GRAPH]
    reloader = Reloader(app, graph, app.get(RESTART))
    await reloader.start()
    try:
        yield
    finally:
        await reloader.stop()
        graph.uninstall()
