"""Importing API route modules and finding their handlers (DESIGN §3).

Modules are compiled from source on every load, never from ``__pycache__``: a re-import right
after an edit that keeps the file size and mtime second must not run stale bytecode.
A module that fails to import is recorded as a ``LoadError`` for its route only.
"""

from __future__ import annotations

import importlib
import inspect
import os
import stat
import sys
import traceback
import types
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .imports import load_from_source

__all__ = [
    "BoundHandler",
    "Handler",
    "LoadError",
    "load_preflight",
    "RouteModule",
    "load_route_module",
    "module_name_for",
    "HANDLER_NAMES",
    "ALL_METHODS",
    "ensure_importable",
    "claim_app_package",
]

Handler = Callable[[Any], Any] | Callable[[Any], Awaitable[Any]]

# DESIGN §3: exported names and the methods they answer. `handler` answers any method not
# exported by name.
HANDLER_NAMES = {
    "get": "GET",
    "post": "POST",
    "put": "PUT",
    "patch": "PATCH",
    "delete": "DELETE",
    "destroy": "DELETE",
}
ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True, slots=True)
class LoadError:
    """Why a module could not be loaded, with the user's file and line when known."""

    file: str
    message: str
    kind: str
    line: int | None
    traceback: str

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "type": self.kind, "message": self.message}


@dataclass(frozen=True, slots=True)
class BoundHandler:
    """One exported handler: the function, whether to await it, and where it is defined."""

    fn: Handler
    name: str
    is_async: bool
    line: int


@dataclass(frozen=True, slots=True)
class RouteModule:
    """A loaded API module: handlers by method, the methods it allows, or its load error."""

    file: str
    handlers: dict[str, BoundHandler] = field(default_factory=dict)
    fallback: BoundHandler | None = None
    error: LoadError | None = None

    @property
    def methods(self) -> frozenset[str]:
        """Every method this module answers (HEAD comes with GET; OPTIONS is always answered)."""
        if self.error is not None:
            return frozenset()
        if self.fallback is not None:
            return _method_set((*ALL_METHODS, "OPTIONS"))
        names = set(self.handlers)
        if "GET" in names:
            names.add("HEAD")
        return _method_set(names | {"OPTIONS"})

    def handler_for(self, method: str) -> BoundHandler | None:
        handler = self.handlers.get(method)
        if handler is None and method == "HEAD":
            handler = self.handlers.get("GET")
        return handler if handler is not None else self.fallback


@lru_cache(maxsize=256)
def _one_set(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(names)


def _method_set(names: Iterable[str]) -> frozenset[str]:
    """One shared frozenset per distinct set of methods. PERF: 10,000 routes that all answer
    GET, HEAD and OPTIONS held 10,000 equal sets (~2 MB)."""
    return _one_set(tuple(sorted(names)))


def ensure_importable(root: Path) -> None:
    """ROOT first on sys.path, so `from app.lib.db import users` works in route modules
    (DESIGN §1), and ``app`` is ROOT's package (see :func:`claim_app_package`).

    Its modules are compiled from source, so no ``__pycache__`` is written into the project.
    """
    # PERF: a reload calls this again; with ROOT still first there is nothing to claim.
    if not sys.path or sys.path[0] != str(root):
        claim_app_package(root)
    load_from_source(root)


def claim_app_package(root: Path) -> None:
    """Make ``from app.lib import x`` mean ``root``'s ``app`` while its modules load.

    NOTE: every project calls its package ``app``. When one process serves two roots (a test
    session, or ``create_app`` called twice), the modules of the first (cached in ``sys.modules``)
    would answer the second's imports. Modules already loaded keep working: their handlers hold
    their own references.
    """
    text = str(root)
    prefix = text + os.sep
    for name, module in list(sys.modules.items()):
        if name == "app" or name.startswith("app."):
            file = getattr(module, "__file__", None)
            if file is None or not (file.startswith(prefix) or Path(file).resolve().is_relative_to(root)):
                del sys.modules[name]
    # NOTE: another project's root left on sys.path would still win the imports: a regular package
    # (``app/lib/__init__.py``) anywhere on sys.path beats a namespace folder (this root's
    # ``app/lib/`` without one) even when the namespace folder comes first.
    sys.path[:] = [p for p in sys.path if p == text or not p or not _is_other_project(p, root)]
    if text in sys.path:
        sys.path.remove(text)
    sys.path.insert(0, text)
    importlib.invalidate_caches()


def _is_other_project(entry: str, root: Path) -> bool:
    """Whether a sys.path entry is another devserver project (it holds app/api or app/pages)."""
    app = Path(entry) / "app"
    return ((app / "api").is_dir() or (app / "pages").is_dir()) and Path(entry).resolve() != root


def module_name_for(root: Path, path: Path) -> str:
    """``ROOT/app/api/users/$id.py`` -> ``app.api.users.$id``: relative imports keep working."""
    base, text = str(root), str(path)
    if not text.startswith(base + os.sep):
        return ".".join(path.relative_to(root).with_suffix("").parts)  # raises ValueError
    # PERF: string operations, not pathlib: a cold start with 1,000 routes names 1,000 modules.
    return os.path.splitext(text[len(base) + 1:])[0].replace(os.sep, ".")


def load_route_module(root: Path, path: Path, display: str) -> RouteModule:
    """Import ``path`` fresh from its source and collect its handlers."""
    name = module_name_for(root, path)
    try:
        module = _exec_fresh(name, path)
    except BaseException as exc:  # noqa: BLE001 - a user's module may raise anything, even SystemExit
        if isinstance(exc, KeyboardInterrupt):
            raise
        return RouteModule(display, error=load_error(display, path, exc))
    return _collect(display, module)


def _exec_fresh(name: str, path: Path) -> types.ModuleType:
    source = _read_source(path)
    code = compile(source, str(path), "exec", dont_inherit=True)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    module.__package__ = name.rpartition(".")[0]
    previous = sys.modules.get(name)
    # NOTE: registered while it runs, as importlib does: dataclasses and pickling look the
    # module up by name during class creation.
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        if previous is not None:
            sys.modules[name] = previous
        else:
            sys.modules.pop(name, None)
        raise
    return module


def _read_source(path: Path) -> bytes:
    """The bytes of a regular file. A FIFO or a device would block the server or never end: it
    is opened without blocking and refused."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path.name} is not a regular file; devserver loads modules only from files")
        with open(fd, "rb", closefd=False) as source:
            return source.read()
    finally:
        os.close(fd)


def _collect(display: str, module: types.ModuleType) -> RouteModule:
    handlers: dict[str, BoundHandler] = {}
    for attr, method in HANDLER_NAMES.items():
        fn = getattr(module, attr, None)
        if callable(fn) and method not in handlers:  # `delete` wins over its alias `destroy`
            handlers[method] = _bind(fn, attr)
    fn = getattr(module, "handler", None)
    fallback = _bind(fn, "handler") if callable(fn) else None
    if not handlers and fallback is None:
        error = LoadError(display, f"{display} exports no handler: define `get`, `post`, `put`, "
                                   "`patch`, `delete` (or `destroy`), or `handler`",
                          "NoHandler", None, "")
        return RouteModule(display, error=error)
    return RouteModule(display, handlers, fallback)


def _bind(fn: Handler, name: str) -> BoundHandler:
    return BoundHandler(fn, name, inspect.iscoroutinefunction(fn), _line_of(fn))


def load_preflight(root: Path, path: Path, display: str) -> tuple[Handler | None, LoadError | None]:
    """``app/preflight.py``'s ``preflight(req)`` function, or why it could not be loaded."""
    try:
        module = _exec_fresh(module_name_for(root, path), path)
    except BaseException as exc:  # noqa: BLE001 - see load_route_module
        if isinstance(exc, KeyboardInterrupt):
            raise
        return None, load_error(display, path, exc)
    fn = getattr(module, "preflight", None)
    if not callable(fn):
        return None, LoadError(display, f"{display} must define `async def preflight(req)` returning "
                                        "a dict", "NoPreflight", None, "")
    return fn, None


def _line_of(fn: object) -> int:
    code = getattr(fn, "__code__", None)
    return int(code.co_firstlineno) if code is not None else 0


def load_error(display: str, path: Path, exc: BaseException) -> LoadError:
    """Describe an import failure, pointing at the user's own file and line."""
    line: int | None = None
    if isinstance(exc, SyntaxError) and exc.filename == str(path):
        line = exc.lineno
    else:
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename == str(path):
                line = frame.lineno
                break
    kind = type(exc).__name__
    text = str(exc) if not isinstance(exc, SyntaxError) else (exc.msg or str(exc))
    if isinstance(exc, SystemExit):
        text = f"the module called sys.exit({exc.code!r}) while loading"
    where = f"{display}:{line}" if line else display
    message = f"{where}: {kind}: {text}"
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return LoadError(display, message, kind, line, tb)
