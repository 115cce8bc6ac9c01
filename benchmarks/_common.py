"""Helpers the benchmark scripts share: what machine a run was on, and their server processes.

The scripts run as ``python benchmarks/<name>.py``, which puts this folder on ``sys.path``; the
tests load some of them by file location instead, so each script adds its own folder before it
imports this module.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import signal
import socket
import subprocess
import time
from argparse import Namespace
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what ``platform`` knows, else "unknown"."""
    # platform.processor() is often empty or just the architecture on Linux, so it is only the
    # fallback where /proc/cpuinfo is missing or names no model (as on some ARM machines).
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def package_version(name: str) -> str:
    """The installed version of distribution ``name``, or "not installed"."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine(packages: Iterable[str], **extra: Any) -> dict[str, Any]:
    """What a result's numbers depend on, for its JSON: CPU, Python, platform, package versions.

    ``extra`` keys (http_bench's ``wrk``) go before ``packages``, where the scripts wrote them.
    """
    return {
        "nproc": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
        "platform": platform.platform(), **extra,
        "packages": {name: package_version(name) for name in packages},
    }


def stop_group(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Stop ``proc``'s process group: SIGTERM, up to ``grace`` seconds for the leader, SIGKILL.

    ``proc`` must lead its own group (started with ``start_new_session=True``), so that a
    reloader's server process or a fork server's worker stops with it.
    """
    if proc.returncode is not None:
        # Already reaped: its pid, the group's id, may belong to someone else by now.
        return
    group = proc.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + grace
    # NOTE: wait for the leader without reaping it: while it is a zombie its pid (the group's
    # id) cannot be reused, so the SIGKILL below reaches only processes this script started.
    while time.monotonic() < deadline:
        if os.waitid(os.P_PID, group, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None:
            break
        time.sleep(0.02)
    # Sent even when the leader exited in time: whatever it left behind in the group (a
    # reloader's server process) must not outlive the measurement.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    proc.wait()


def stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name: [state, ppid, ...]; utime is [11], stime [12]."""
    # The command name is in parentheses and may itself hold spaces or ")", hence rindex.
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()


def _children_by_parent() -> dict[int, list[int]]:
    """Every live process, by its parent's pid: one pass over /proc."""
    by_parent: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        # A process can exit between listdir and the read: it is then simply not counted.
        with contextlib.suppress(OSError, IndexError, ValueError):
            by_parent.setdefault(int(stat_fields(int(entry))[1]), []).append(int(entry))
    return by_parent


def children(pid: int) -> list[int]:
    """The pids whose parent is ``pid``, lowest first."""
    return sorted(_children_by_parent().get(pid, []))


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children, ...), not ``pid`` itself."""
    # One snapshot of /proc for the whole tree rather than a pass per level.
    by_parent = _children_by_parent()
    found: list[int] = []
    todo = list(by_parent.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo += by_parent.get(child, [])
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for servers that take a fixed port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fill_defaults(args: Namespace, defaults: Mapping[str, tuple[Any, Any]]) -> None:
    """Give each option left unset its ``(quick, full)`` default, by ``args.quick``."""
    for name, (quick, full) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
