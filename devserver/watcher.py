"""Watching the project with watchdog, and handing file events to the event loop.

The observer thread never touches the app: its handler only calls
``loop.call_soon_threadsafe`` to enqueue a path (STYLE §7). Bursts of events are coalesced on
the loop, so an editor's truncate-then-write is applied once, after the last write.

Pitfalls handled here (each has a test):
- watchdog 7's default event mask includes file-open events, which overflow the inotify queue on
  a large tree: an explicit event filter asks only for writes, creations, deletions and moves;
- a log file written inside the watched tree would feed the watcher its own events: only the
  folders and files devserver acts on are watched, and nothing devserver writes is among them;
- ``.git``, ``__pycache__``, ``.devserver``, virtualenvs and editor temp/swap/lock files are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Change", "Watcher", "is_noise"]

log = logging.getLogger("devserver")

_IGNORED_DIRS = frozenset({".git", "__pycache__", ".devserver", ".venv", "venv", "node_modules",
                           ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", ".idea",
                           ".vscode"})
_IGNORED_SUFFIXES = (".swp", ".swx", ".swo", "~", ".tmp", ".bak", ".orig", ".pyc", ".log",
                     ".crswap", ".kate-swp")


def is_noise(path: str) -> bool:
    """Editor leftovers and tool folders: never a reason to reload."""
    parts = Path(path).parts
    if any(p in _IGNORED_DIRS for p in parts):
        return True
    name = parts[-1] if parts else ""
    return (name.endswith(_IGNORED_SUFFIXES) or name.startswith((".#", "#")) or name == "4913"
            or name.startswith(".~lock") or name == ".DS_Store")


@dataclass(frozen=True, slots=True)
class Change:
    """One file event: what happened to which path (``moved`` carries the destination)."""

    kind: str  # created | modified | deleted | moved | closed
    path: str
    is_dir: bool = False
    dest: str | None = None

    def paths(self) -> tuple[str, ...]:
        return (self.path,) if self.dest is None else (self.path, self.dest)


class Watcher:
    """Watches ROOT's top level, ``app/``, ``public/`` and any extra folders the app imports from."""

    def __init__(self, root: Path, loop: asyncio.AbstractEventLoop) -> None:
        self.root = root
        self.loop = loop
        self.queue: asyncio.Queue[Change] = asyncio.Queue()
        self._observer: Any = None
        self._watches: dict[str, Any] = {}
        self._handler: Any = None
        # inotify (Linux) reports a file closed after writing; others may, once one is seen.
        self._sees_closes = sys.platform.startswith("linux")

    def start(self) -> None:
        # NOTE: imported lazily: `devserver routes` and production never load watchdog.
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                src = os.fsdecode(event.src_path)
                dest = os.fsdecode(event.dest_path) if event.dest_path else None
                if is_noise(src) and (dest is None or is_noise(dest)):
                    return
                kind = event.event_type
                if kind == "closed_no_write" or kind == "opened":
                    return
                change = Change(kind, src, event.is_directory, dest)
                with contextlib.suppress(RuntimeError):  # the loop is closing
                    watcher.loop.call_soon_threadsafe(watcher.queue.put_nowait, change)

        self._handler = Handler()
        self._observer = Observer()
        self._observer.daemon = True
        self.ensure_watches()
        self._observer.start()

    def _filter(self) -> list[Any]:
        from watchdog import events as e

        return [e.FileCreatedEvent, e.FileModifiedEvent, e.FileDeletedEvent, e.FileMovedEvent,
                e.FileClosedEvent, e.DirCreatedEvent, e.DirDeletedEvent, e.DirMovedEvent]

    def _schedule(self, path: Path, recursive: bool) -> None:
        key = f"{path}|{recursive}"
        if key in self._watches or not path.is_dir():
            return
        try:
            self._watches[key] = self._observer.schedule(self._handler, str(path), recursive=recursive,
                                                         event_filter=self._filter())
        except OSError as exc:
            log.warning("cannot watch %s: %s", path, exc.strerror or exc)

    def ensure_watches(self, extra: Iterable[Path] = ()) -> None:
        """(Re)schedule the watches: folders that were deleted and created again are watched anew."""
        if self._observer is None:
            return
        for key, watch in list(self._watches.items()):
            if not Path(key.rpartition("|")[0]).is_dir():
                with contextlib.suppress(Exception):
                    self._observer.unschedule(watch)
                del self._watches[key]
        self._schedule(self.root, recursive=False)
        for sub in ("app", "public"):
            self._schedule(self.root / sub, recursive=True)
        for folder in extra:
            self._schedule(folder, recursive=not self._is_outside(folder))

    def _is_outside(self, folder: Path) -> bool:
        return not str(folder.resolve()).startswith(str(self.root.resolve()) + os.sep)

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=2)
            self._observer = None

    async def batches(self, quiet: float = 0.02, longest: float = 0.3, settled: float = 0.002) -> Any:
        """Yield lists of changes: each burst ends after ``quiet`` seconds without an event.

        When the last event says a file is complete (closed after writing, or renamed into
        place), the burst ends after only ``settled`` seconds: waiting the full ``quiet`` window
        after every save would put 20 ms on every in-place reload for nothing.
        """
        while True:
            first = await self.queue.get()
            batch = [first]
            started = time.monotonic()
            while (left := longest - (time.monotonic() - started)) > 0:
                last = batch[-1]
                done = last.kind == "closed" or (last.kind == "moved" and not last.is_dir)
                self._sees_closes = self._sees_closes or last.kind == "closed"
                # NOTE: a file still open for writing (truncated, not yet written and closed: a
                # slow or preempted save) would be read half-written; wait for its close instead.
                timeout = left if self._sees_closes and _unclosed(batch) else settled if done else quiet
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), timeout))
                except TimeoutError:
                    break
            yield batch


def _unclosed(batch: list[Change]) -> bool:
    """Whether a file in ``batch`` was created or written and not yet closed."""
    writing: set[str] = set()
    for change in batch:
        if change.is_dir:
            continue
        if change.kind in ("created", "modified"):
            writing.add(change.path)
        elif change.kind in ("closed", "deleted"):
            writing.discard(change.path)
        elif change.kind == "moved":
            writing.discard(change.path)
    return bool(writing)
