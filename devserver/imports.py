"""The import graph of project modules, recorded while they load (DESIGN §5).

Two pieces, installed once per worker process:

- a meta-path finder that loads every module under ROOT from its *source*, never from
  ``__pycache__`` (an edit that keeps size and mtime-second would otherwise run stale bytecode);
- an ``__import__`` wrapper that records, for every import statement executed by a project
  module, an edge importer -> imported. Import statements for modules already in ``sys.modules``
  never reach a finder, so the wrapper is the only place that sees them all.

With the edges, a change to ``app/lib/db.py`` reaches every module that imported it, directly or
through others.
"""

from __future__ import annotations

import builtins
import importlib.machinery
import importlib.util
import os
import sys
import sysconfig
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

__all__ = ["ImportGraph", "SourceOnlyLoader", "load_from_source"]


class SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Compile from source every time; project modules never use or write bytecode."""

    def get_code(self, fullname: str) -> CodeType:
        source = self.get_data(self.path)
        return compile(source, self.path, "exec", dont_inherit=True)


class _ProjectFinder:
    """Finds modules whose top-level package lives in ROOT and gives them ``SourceOnlyLoader``."""

    def __init__(self, root: str) -> None:
        self.root = root

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        top = fullname.partition(".")[0]
        base = os.path.join(self.root, top)
        if not (os.path.isdir(base) or os.path.isfile(base + ".py")):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            return spec
        if not spec.origin.startswith(self.root + os.sep):
            return spec
        spec.loader = SourceOnlyLoader(fullname, spec.origin)
        return spec


def load_from_source(root: Path) -> None:
    """Load every module under ``root`` from source, in any process that serves or lists it.

    Python's own loader would write ``__pycache__`` into the user's project (``app/lib/``, ROOT),
    and devserver writes nowhere in a project but ``.devserver/``: not under ``devserver routes``,
    ``--no-reload`` or ``create_app(dev=False)`` either, where no import graph is installed.
    Idempotent per root.
    """
    key = str(root.resolve())
    if not any(isinstance(f, _ProjectFinder) and f.root == key for f in sys.meta_path):
        sys.meta_path.insert(0, _ProjectFinder(key))


def _library_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, paths.get("stdlib", ""),
                paths.get("purelib", ""), paths.get("platlib", "")}
    return tuple(os.path.realpath(p) + os.sep for p in prefixes if p)


class ImportGraph:
    """Edges importer -> imported between modules, and which files belong to the project."""

    def __init__(self, root: Path) -> None:
        self.root = str(root.resolve())
        self._edges: dict[str, set[str]] = defaultdict(set)
        self._lock = threading.Lock()
        self._original: Any = None
        self._finder = _ProjectFinder(self.root)
        self._libraries = _library_prefixes()

    # -- installation -------------------------------------------------------------------------

    def install(self) -> None:
        """Hook imports for this process (idempotent)."""
        if self._original is not None:
            return
        sys.meta_path.insert(0, self._finder)
        self._original = builtins.__import__
        builtins.__import__ = self._import

    def uninstall(self) -> None:
        if self._original is None:
            return
        builtins.__import__ = self._original
        self._original = None
        if self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)

    def _import(self, name: str, globals: Mapping[str, Any] | None = None,
                locals: Mapping[str, Any] | None = None, fromlist: Sequence[str] | None = (),
                level: int = 0) -> ModuleType:
        module: ModuleType = self._original(name, globals, locals, fromlist, level)
        if globals is not None:
            importer = globals.get("__name__")
            file = globals.get("__file__")
            if isinstance(importer, str) and isinstance(file, str) and file.startswith(self.root):
                self._record(importer, name, globals, fromlist, level)
        return module

    def _record(self, importer: str, name: str, globals: Mapping[str, Any],
                fromlist: Sequence[str] | None, level: int) -> None:
        try:
            target = importlib.util.resolve_name("." * level + name, globals.get("__package__") or "")
        except (ImportError, ValueError):
            return
        names = [target]
        for item in fromlist or ():
            sub = f"{target}.{item}"
            if sub in sys.modules:
                names.append(sub)
        with self._lock:
            self._edges[importer].update(names)

    # -- queries ------------------------------------------------------------------------------

    def is_project_file(self, path: str) -> bool:
        return os.path.realpath(path).startswith(self.root + os.sep)

    def modules_for_files(self, files: Iterable[str]) -> set[str]:
        """Names in ``sys.modules`` loaded from these files."""
        wanted = {os.path.realpath(f) for f in files}
        found = set()
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None)
            if isinstance(file, str) and os.path.realpath(file) in wanted:
                found.add(name)
        return found

    def dependents(self, names: Iterable[str]) -> set[str]:
        """``names`` and every module that imported one of them, directly or through others."""
        with self._lock:
            reverse: dict[str, set[str]] = defaultdict(set)
            for importer, imported in self._edges.items():
                for target in imported:
                    reverse[target].add(importer)
        seen = set(names)
        todo = list(seen)
        while todo:
            current = todo.pop()
            for importer in reverse.get(current, ()):
                if importer not in seen:
                    seen.add(importer)
                    todo.append(importer)
        return seen

    def forget(self, names: Iterable[str]) -> None:
        """Drop the modules from ``sys.modules`` and their outgoing edges: the next import is fresh."""
        with self._lock:
            for name in names:
                self._edges.pop(name, None)
                sys.modules.pop(name, None)

    def outside_files(self) -> set[str]:
        """Source files outside ROOT that project modules imported, other than installed libraries.

        A change to one cannot be applied in place: the worker restarts (DESIGN §5).
        """
        with self._lock:
            targets = {t for imported in self._edges.values() for t in imported}
        files = set()
        for name in targets:
            module = sys.modules.get(name)
            file = getattr(module, "__file__", None)
            if not isinstance(file, str) or not file.endswith(".py"):
                continue
            real = os.path.realpath(file)
            if real.startswith(self.root + os.sep) or real.startswith(self._libraries):
                continue
            files.add(real)
        return files
