"""Discovery: the app folder in, sorted ``RouteFile`` records out.

It lists files and never imports user code. ``_``-prefixed and dot files and folders are not
routes (layouts, partials, helpers), nor is anything that is not ``.py`` under ``app/api`` or
``.html`` under ``app/pages``. The error pages ``404.html`` and ``500.html`` at the top of
``app/pages`` are never routes.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .routing import RouteFile
from .routing.routes import RESERVED_PREFIXES

__all__ = ["Discovered", "discover", "discover_folder", "route_file", "on_disk", "is_ignored_name",
           "ERROR_PAGES", "files_after"]

ERROR_PAGES = frozenset({"404.html", "500.html"})
# Editors write these beside the file being saved; they are never routes.
_EDITOR_LEFTOVERS = ("~", ".swp", ".swx", ".swo", ".tmp", ".bak", ".orig")


@dataclass(frozen=True, slots=True)
class Discovered:
    """The route files found, and the reasons some folders could not be read."""

    files: tuple[RouteFile, ...]
    warnings: tuple[str, ...] = ()


def is_ignored_name(name: str) -> bool:
    """Dot files, ``_`` partials, editor leftovers; but never a name that claims a reserved URL."""
    if name.startswith(RESERVED_PREFIXES):
        # NOTE: `__routes.py` would be skipped as a partial; listing it lets the table report
        # that the URL is reserved instead of ignoring the file without a word (DESIGN §6).
        return False
    return name.startswith(("_", ".")) or name.endswith(_EDITOR_LEFTOVERS)


def discover(root: Path) -> Discovered:
    """Find the API modules and page templates under ``root/app``.

    Paths shown to people are relative to ``root`` (``app/api/users/[id].py``).
    """
    files: list[RouteFile] = []
    warnings: list[str] = []
    if not (root / "app").is_dir():
        warnings.append(f"{root / 'app'} is missing (deleted or moved?): no routes until it is back, "
                        "and devserver serves them again as soon as it is")
    for kind, folder, suffix in (("api", "api", ".py"), ("page", "pages", ".html")):
        base = root / "app" / folder
        for rel in _walk(base, warnings):
            if not rel.endswith(suffix):
                continue
            if kind == "page" and rel in ERROR_PAGES:
                continue
            route_id = rel[: -len(suffix)]
            files.append(RouteFile(route_id, kind, f"app/{folder}/{rel}"))  # type: ignore[arg-type]
    files.sort(key=lambda f: (f.kind, f.id))
    return Discovered(tuple(files), tuple(warnings))


def route_file(rel: str) -> RouteFile | None:
    """The route file at ``rel`` (relative to ROOT: ``app/api/users/[id].py``) by the naming rules
    of :func:`discover` alone, or None when discovery would not list a file there.

    >>> route_file("app/api/users/[id].py")
    RouteFile(id='users/[id]', kind='api', file='app/api/users/[id].py')
    >>> route_file("app/pages/_layout.html") is None
    True
    """
    for kind, prefix, suffix in _KINDS:
        if rel.startswith(prefix) and rel.endswith(suffix):
            inner = rel[len(prefix):]
            if kind == "page" and inner in ERROR_PAGES:
                return None
            if any(not part or is_ignored_name(part) for part in inner.split("/")):
                return None
            return RouteFile(inner[: -len(suffix)], kind, rel)  # type: ignore[arg-type]
    return None


def discover_folder(root: Path, rel: str) -> Discovered:
    """The route files :func:`discover` would find under the folder ``rel`` (``app/api/users``).

    PERF: a reload that sees one folder appear walks that folder, not the whole tree.
    """
    warnings: list[str] = []
    found = (route_file(f"{rel}/{name}") for name in _walk(root / rel, warnings))
    return Discovered(tuple(f for f in found if f is not None), tuple(warnings))


def on_disk(root: Path, rel: str) -> bool | None:
    """Whether a walk of the tree now would reach the file or folder at ``rel``
    (``app/api/users/[id].py``) and list it as a route file (True) or walk it (a folder: True).

    None when only :func:`discover` can say, because it would warn about the path: a name that is
    not UTF-8, or a FIFO or device. Names are not checked here (see :func:`route_file`).
    """
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return None
    top = "app/api" if rel.startswith("app/api/") else "app/pages"
    parts = rel[len(top) + 1:].split("/")
    at = root / top
    for part in parts[:-1]:  # NOTE: os.walk does not follow symlinked folders
        at = at / part
        try:
            if not stat.S_ISDIR(os.lstat(at).st_mode):
                return False
        except OSError:
            return False
    path = at / parts[-1]
    try:
        own = os.lstat(path).st_mode
    except OSError:
        return False
    if stat.S_ISDIR(own):
        return True  # a real folder: walked
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return True  # a dangling symlink stays listed, and its route says why it fails
    if stat.S_ISREG(mode):
        return True
    return False if stat.S_ISDIR(mode) else None  # a symlinked folder is not walked; a FIFO warns


_KINDS = (("api", "app/api/", ".py"), ("page", "app/pages/", ".html"))


def _walk(base: Path, warnings: list[str]) -> list[str]:
    """Relative file paths under ``base`` with ``/`` separators, skipping ignored names.

    Symlinked folders are not followed, so a symlink loop inside ``app/`` cannot hang discovery.
    """
    found: list[str] = []
    if base.is_dir():
        _walk_into(str(base), "", found, warnings)
    return found


def _walk_into(folder: str, prefix: str, found: list[str], warnings: list[str]) -> None:
    """``os.walk``'s order and rules (folders sorted, symlinked ones not walked), one ``scandir``
    per folder.

    PERF: a file's type comes from its directory entry; only a symlink (or a file system that
    does not say) is stat-ed. With 1,000 routes in ~2,000 folders, os.walk plus a stat per file
    and ``relpath`` per folder took ~100 ms of a cold start.
    """
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as err:
        warnings.append(f"cannot read {err.filename}: {err.strerror}")
        return
    folders: list[os.DirEntry[str]] = []
    files: list[os.DirEntry[str]] = []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        (folders if is_dir else files).append(entry)
    walk = [e for e in folders if not is_ignored_name(e.name) and _utf8(e.path, warnings)]
    for entry in files:
        if is_ignored_name(entry.name) or not _utf8(entry.path, warnings):
            continue
        if not entry.is_file(follow_symlinks=False) and _special(entry.path, warnings):
            continue
        found.append(prefix + entry.name)
    for entry in walk:
        if not entry.is_symlink():
            _walk_into(entry.path, f"{prefix}{entry.name}/", found, warnings)


def _special(path: str, warnings: list[str]) -> bool:
    """A FIFO, socket or device (or a symlink to one): reading it would block or never end.

    A missing target (a dangling symlink) or a symlink loop is not special: it stays listed, so
    its route answers 500 with the reason.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return False
    warnings.append(f"skipped {path}: not a regular file (a FIFO, socket or device cannot be read "
                    "as a route)")
    return True


def _utf8(path: str, warnings: list[str]) -> bool:
    """A name that is not UTF-8 can never match a URL (paths are decoded as UTF-8), and would
    break every page that shows it: skipped, with a warning that spells its bytes."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        shown = repr(os.fsencode(path))[2:-1]
        warnings.append(f"skipped {shown}: its name is not UTF-8, so no URL can reach it; rename it")
        return False
    return True


def files_after(root: Path, files: tuple[RouteFile, ...], touched: list[tuple[str, bool]], *,
                by_file: dict[str | None, RouteFile] | None = None) -> tuple[RouteFile, ...] | None:
    """Discovery's list brought up to date for the route files and folders a burst touched (as
    they are on disk now), or None when only walking the tree can say (it would warn).

    ``by_file``, when given, is ``files`` by path (``{f.file: f for f in files}``, in order); it
    is brought up to date in place, so that it is the result's by path (and spoilt on None).

    PERF: with 10,000 routes, walking the tree again for one added file took ~0.3 s.
    """
    if by_file is None:
        by_file = {f.file: f for f in files}
    for rel, is_dir in touched:
        if not rel.startswith(("app/api/", "app/pages/")):
            return None  # app/, app/api or app/pages themselves
        here = on_disk(root, rel)
        if here is None:
            return None
        if is_dir:
            under = rel + "/"
            for file in [f for f in by_file if f is not None and f.startswith(under)]:
                del by_file[file]
            if here:
                found = discover_folder(root, rel)
                if found.warnings:
                    return None
                by_file.update((f.file, f) for f in found.files)
            continue
        route = route_file(rel)
        if route is None:
            continue
        if here:
            by_file[rel] = route
        else:
            by_file.pop(rel, None)
    return tuple(by_file.values())  # NOTE: not sorted: the table's order never depends on it
