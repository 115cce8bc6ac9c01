"""Scale benchmark: devserver with 1,000 and 10,000 route modules.

Run it from the repository root::

    .venv/bin/python benchmarks/scale_bench.py            # 5 cold starts per mode, 5 added files
    .venv/bin/python benchmarks/scale_bench.py --quick    # a smoke run: 2,000 routes, 1 start, 2 files
    .venv/bin/python benchmarks/scale_bench.py --json out.json

Three measurements, each against ``devserver run`` started from this process on a generated app:

1. **Cold start, 1,000 routes**: from starting ``devserver run ROOT --port 0`` (a new process) to
   the first 200 answer of one of its routes, polled every 5 ms. Both ``devserver run`` (reload
   on: a supervisor that starts a worker, which imports every route module and starts watching
   the tree) and ``--no-reload`` (one process), alternating, several times each. Route modules are
   always compiled from source (devserver never runs them from ``__pycache__``), so every start
   pays for all 1,000; Python's own modules come from their bytecode caches after the first start.
2. **Rebuild after one file is added, 10,000 routes**: with ``devserver run`` serving the big app,
   a new route module is written into an existing folder; the table shows the reload as devserver
   logged it ("in X ms": from the end of the burst of file events to the new state swapped in),
   and the time from the write to the first 200 answer of the new route (which adds the watcher's
   event delivery and the burst's settling time). Then the file is removed again, measured the same
   way (until the route answers 404). For comparison, the same tree's ``discover()``, a full
   ``build_table()`` and the incremental one a reload makes (``previous=``, one file added) are
   timed in this process.
3. **Memory, 10,000 routes**: resident set size (VmRSS) and proportional set size (Pss, which
   splits pages shared between processes) of every process of ``devserver run``: the supervisor,
   the fork server (Linux) and the worker it forked, after the reloads above; with
   ``--no-reload`` too (a second server) in a full run; and the same right after the start,
   before those reloads. The target is judged twice: on their Pss together (the memory they
   use, a page shared by two counted once) and on the sum of their RSS (which counts the pages
   the worker shares with the fork server it was forked from twice).

The generated app: route modules in folders of 50, in four shapes taken in turn (a static
``g007/item-N``, a dynamic ``g007/dN/[id]``, a nested ``g007/nN/[org]/repos/[repo]`` and a
catch-all ``g007/fN/[...path]``), each ``async def get(req)`` returning a small JSON object; one
route in ten also has a page template.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Run as a script this folder is on sys.path already; loaded by file location (the tests) it is not.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import children, fill_defaults, machine, stop_group  # noqa: E402

from devserver.discovery import discover  # noqa: E402
from devserver.routing import RouteFile, build_table  # noqa: E402

TARGETS = {"cold_ms": 1500.0, "rebuild_ms": 20.0, "memory_mb": 150.0}
PACKAGES = ("devserver", "aiohttp", "jinja2", "watchdog", "uvloop")  # whose versions are reported
_RELOAD = re.compile(r"reload: (\S+) changed -> .* in ([0-9.]+) ms")

# ---------------------------------------------------------------------------------------------
# The generated app.


def route_rel(i: int) -> str:
    group = f"g{i // 50:03d}"
    return (f"{group}/item-{i}", f"{group}/d{i}/[id]", f"{group}/n{i}/[org]/repos/[repo]",
            f"{group}/f{i}/[...path]")[i % 4]


def url_of(i: int) -> str:
    rel = route_rel(i)
    return "/" + rel.replace("[id]", "7").replace("[org]", "acme").replace("[repo]", "web") \
        .replace("[...path]", "a/b")


def generate(root: Path, count: int) -> None:
    for i in range(count):
        rel = route_rel(i)
        api = root / "app/api" / f"{rel}.py"
        api.parent.mkdir(parents=True, exist_ok=True)
        api.write_text(f'async def get(req):\n    return {{"json": {{"route": {rel!r}, '
                       f'"params": dict(req.params)}}}}\n')
        if i % 10 == 0:
            page = root / "app/pages" / f"{rel}.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text("<!doctype html><title>{{ store.route }}</title><body><h1>{{ store.route }}</h1>"
                            "</body>\n")


# ---------------------------------------------------------------------------------------------
# Servers.


@dataclass
class Server:
    """``devserver run ROOT --port 0``, in its own process group."""

    root: Path
    work: Path
    reload: bool = True
    proc: subprocess.Popen[bytes] | None = None
    url: str = ""
    log: Path = field(init=False)
    ready: Path = field(init=False)

    def __post_init__(self) -> None:
        tag = "reload" if self.reload else "noreload"
        self.log = self.work / f"{self.root.name}-{tag}-{time.monotonic_ns()}.log"
        self.ready = self.work / f"{self.root.name}-{tag}.ready"

    def start(self, probe: str, timeout: float = 300.0) -> tuple[float, float]:
        """Start and wait for ``probe`` to answer 200: (ms to the ready file, ms to that answer)."""
        self.ready.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "devserver", "run", str(self.root), "--port", "0",
               "--ready-file", str(self.ready)] + ([] if self.reload else ["--no-reload"])
        env = {k: v for k, v in os.environ.items() if k != "DEVSERVER_WORKER"}
        with open(self.log, "wb") as out:
            started = time.perf_counter()
            self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        ready_ms = None
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                break
            if not self.url and self.ready.exists():
                self.url = self.ready.read_text().strip()
                if self.url:
                    ready_ms = (time.perf_counter() - started) * 1000
            if self.url and status(self.url + probe) == 200:
                assert ready_ms is not None
                return ready_ms, (time.perf_counter() - started) * 1000
            time.sleep(0.005)
        self.stop()
        raise RuntimeError(f"devserver did not answer {probe}:\n{self.output()[-3000:]}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def pids(self) -> dict[str, int]:
        """``supervisor``, ``fork server`` (Linux) and ``worker`` (reload on), or ``server``."""
        assert self.proc is not None
        if not self.reload:
            return {"server": self.proc.pid}
        out = {"supervisor": self.proc.pid}
        for pid in children(self.proc.pid):
            if b"devserver.forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes():
                out["fork server"] = pid
                out["worker"] = min(children(pid))
            else:
                out["worker"] = pid
        return out

    def stop(self) -> None:
        """SIGTERM to the group, then SIGKILL to whatever is left (the fork server, the worker)."""
        if self.proc is not None:
            # 15 s for the SIGTERM, as before: a supervisor with 10,000 routes may be slow to go.
            stop_group(self.proc, grace=15.0)


def status(url: str) -> int | None:
    host, _, rest = url.removeprefix("http://").partition("/")
    name, _, port = host.rpartition(":")
    conn = http.client.HTTPConnection(name, int(port), timeout=5)
    try:
        conn.request("GET", "/" + rest, headers={"Accept": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def memory(pid: int) -> dict[str, float]:
    """VmRSS and Pss of one process, in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            out["rss_mb"] = int(line.split()[1]) / 1024
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                out["pss_mb"] = int(line.split()[1]) / 1024
    return out


# ---------------------------------------------------------------------------------------------
# The three measurements.


def cold_starts(root: Path, work: Path, runs: int, say: Any) -> list[dict[str, Any]]:
    probe = url_of(0)
    # NOTE: one start first, not counted: Python's own modules get their bytecode caches.
    warm = Server(root, work)
    warm.start(probe)
    warm.stop()
    times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for run in range(runs):
        for reload in (True, False):
            server = Server(root, work, reload=reload)
            try:
                times[reload].append(server.start(probe))
            finally:
                server.stop()
        say(f"cold start {run + 1}/{runs} done")
    rows = []
    for reload, got in times.items():
        first = [t[1] for t in got]
        rows.append({"server": "devserver run" if reload else "devserver run --no-reload",
                     "routes": count_routes(root), "runs": len(got),
                     "median_ms": statistics.median(first), "min_ms": min(first), "max_ms": max(first),
                     "ready_median_ms": statistics.median(t[0] for t in got)})
    return rows


def rebuilds(server: Server, root: Path, count: int, say: Any) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for k in range(count):
        rel = f"app/api/g{(7 + 13 * k) % max(1, count_routes(root) // 50):03d}/added-{k}.py"
        url = server.url + "/" + rel.removeprefix("app/api/").removesuffix(".py")
        path = root / rel
        for change, wanted in (("one file added", 200), ("one file removed", 404)):
            seen = len(_RELOAD.findall(server.output()))
            started = time.perf_counter()
            if wanted == 200:
                path.write_text('async def get(req):\n    return {"json": {"added": True}}\n')
            else:
                path.unlink()
            while status(url) != wanted:
                if time.perf_counter() - started > 120:
                    raise RuntimeError(f"{change}: {url} never answered {wanted}")
                time.sleep(0.002)
            visible = (time.perf_counter() - started) * 1000
            logged = _wait_for_reload(server, rel, seen)
            row = rows.setdefault(change, {"change": change, "routes": count_routes(root),
                                           "logged_ms": [], "visible_ms": []})
            row["logged_ms"].append(logged)
            row["visible_ms"].append(visible)
            time.sleep(0.3)  # let the watcher settle between changes
        say(f"rebuild {k + 1}/{count} done")
    for row in rows.values():
        for key in ("logged_ms", "visible_ms"):
            row[key.replace("_ms", "_median_ms")] = statistics.median(row[key])
            row[key.replace("_ms", "_max_ms")] = max(row[key])
    return list(rows.values())


def _wait_for_reload(server: Server, rel: str, seen: int) -> float:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = _RELOAD.findall(server.output())[seen:]
        for changed, ms in found:
            if rel in changed:
                return float(ms)
        time.sleep(0.01)
    raise RuntimeError(f"no reload logged for {rel}:\n{server.output()[-2000:]}")


def in_process(root: Path, repeat: int) -> dict[str, float]:
    """discover(), build_table() and the incremental build_table() of a reload that adds one
    file (``previous=``), on the same tree, in this process (median ms)."""
    found = discover(root)
    walk, table, incremental = [], [], []
    for k in range(repeat):
        started = time.perf_counter()
        discover(root)
        walk.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        full = build_table(found.files)
        table.append((time.perf_counter() - started) * 1000)
        added = RouteFile(f"g007/in-process-{k}", "api", f"app/api/g007/in-process-{k}.py")
        started = time.perf_counter()
        build_table((*found.files, added), previous=full)
        incremental.append((time.perf_counter() - started) * 1000)
    return {"files": len(found.files), "discover_ms": statistics.median(walk),
            "build_table_ms": statistics.median(table),
            "build_table_incremental_ms": statistics.median(incremental)}


def count_routes(root: Path) -> int:
    return sum(1 for _ in (root / "app/api").rglob("*.py"))


# ---------------------------------------------------------------------------------------------
# The run.


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    def say(text: str) -> None:
        if not args.silent:
            print(f"# {text}", file=sys.stderr, flush=True)

    small, big = work / "app-1k", work / f"app-{args.routes // 1000}k"
    generate(small, args.cold_routes)
    generate(big, args.routes)
    say(f"generated {args.cold_routes} and {args.routes} routes in {work}")
    load_before = os.getloadavg()
    result: dict[str, Any] = {}
    try:
        result["cold"] = cold_starts(small, work, args.starts, say)
        result["cold_in_process"] = in_process(small, 3)
        server = Server(big, work)
        ready_ms, first_ms = server.start(url_of(0))
        say(f"{args.routes} routes: first answer after {first_ms:.0f} ms")
        try:
            result["big_start_ms"] = first_ms
            time.sleep(1.0)  # the worker resolves library paths 0.25 s after it starts
            result["memory_at_start"] = [{"process": name, "routes": args.routes, **memory(pid)}
                                         for name, pid in server.pids().items()]
            result["rebuild"] = rebuilds(server, big, args.changes, say)
            for i in range(0, args.routes, max(1, args.routes // 50)):  # a few requests served
                status(server.url + url_of(i))
            result["memory"] = [{"process": name, "routes": args.routes, **memory(pid)}
                                for name, pid in server.pids().items()]
        finally:
            server.stop()
        result["rebuild_in_process"] = in_process(big, 3)
        if not args.quick:
            single = Server(big, work, reload=False)
            single.start(url_of(0))
            try:
                result["memory"] += [{"process": "--no-reload", "routes": args.routes,
                                      **memory(single.pids()["server"])}]
            finally:
                single.stop()
    finally:
        if args.keep:
            say(f"apps and logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    result["settings"] = {k: v for k, v in vars(args).items() if k != "json"}
    result["machine"] = {**machine(PACKAGES), "loadavg_before": load_before, "loadavg_after": os.getloadavg()}
    return result


# ---------------------------------------------------------------------------------------------
# Reporting.


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(result: dict[str, Any]) -> str:
    out = ["Cold start (process start to first 200 answer):", "",
           "| server | routes | runs | median ms | min ms | max ms | ready file at (median ms) |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for r in result["cold"]:
        out.append(f"| {r['server']} | {r['routes']:,} | {r['runs']} | {r['median_ms']:.0f} | "
                   f"{r['min_ms']:.0f} | {r['max_ms']:.0f} | {r['ready_median_ms']:.0f} |")
    c = result["cold_in_process"]
    out += ["", f"In this process, the same {c['files']:,} files: discover() {c['discover_ms']:.1f} ms, "
                f"build_table() {c['build_table_ms']:.1f} ms.", "",
            "Rebuild after one change (devserver run, reload on):", "",
            "| change | routes | changes | reload logged, median ms | max ms | write to answer, median ms "
            "| max ms |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in result["rebuild"]:
        out.append(f"| {r['change']} | {r['routes']:,} | {len(r['logged_ms'])} | "
                   f"{r['logged_median_ms']:.1f} | {r['logged_max_ms']:.1f} | "
                   f"{r['visible_median_ms']:.1f} | {r['visible_max_ms']:.1f} |")
    b = result["rebuild_in_process"]
    out += ["", f"In this process, the same {b['files']:,} files: discover() {b['discover_ms']:.1f} ms, "
                f"build_table() {b['build_table_ms']:.1f} ms, and with one file added "
                f"build_table(previous=) {b.get('build_table_incremental_ms', float('nan')):.1f} ms "
                "(a reload that adds a file neither walks the tree nor builds the table again: it "
                "updates the previous table, and the modules and methods of the routes that "
                "changed).", "",
            "Memory with the big app served:", "",
            "| process | routes | RSS MB | PSS MB |", "|---|---:|---:|---:|"]
    for r in result["memory"]:
        out.append(f"| {r['process']} | {r['routes']:,} | {r.get('rss_mb', 0):.1f} | "
                   f"{r.get('pss_mb', 0):.1f} |")
    run_rows = [r for r in result["memory"] if r["process"] in ("supervisor", "fork server", "worker")]
    total_rss = sum(r.get("rss_mb", 0) for r in run_rows)
    total_pss = sum(r.get("pss_mb", 0) for r in run_rows)
    out.append(f"| devserver run, all processes | {run_rows[0]['routes']:,} | {total_rss:.1f} | "
               f"{total_pss:.1f} |")
    start_rows = result.get("memory_at_start", [])
    if start_rows:
        out += ["", "The same processes right after the start (before the reloads and requests above):", "",
                "| process | routes | RSS MB | PSS MB |", "|---|---:|---:|---:|"]
        for r in start_rows:
            out.append(f"| {r['process']} | {r['routes']:,} | {r.get('rss_mb', 0):.1f} | "
                       f"{r.get('pss_mb', 0):.1f} |")
        out.append(f"| devserver run, all processes | {start_rows[0]['routes']:,} | "
                   f"{sum(r.get('rss_mb', 0) for r in start_rows):.1f} | "
                   f"{sum(r.get('pss_mb', 0) for r in start_rows):.1f} |")
    cold = next(r for r in result["cold"] if r["server"] == "devserver run")
    added = next(r for r in result["rebuild"] if r["change"] == "one file added")
    out += ["",
            f"- {_verdict(cold['median_ms'] < TARGETS['cold_ms'])}: cold start of devserver run with "
            f"{cold['routes']:,} routes, median {cold['median_ms']:.0f} ms "
            f"(target < {TARGETS['cold_ms']:.0f})",
            f"- {_verdict(added['logged_median_ms'] < TARGETS['rebuild_ms'])}: rebuild after one file added "
            f"to {added['routes']:,} routes, median {added['logged_median_ms']:.1f} ms as logged "
            f"(target < {TARGETS['rebuild_ms']:.0f}); a full build_table() would take "
            f"{b['build_table_ms']:.0f} ms, the incremental one takes "
            f"{b.get('build_table_incremental_ms', float('nan')):.1f} ms",
            f"- {_verdict(total_pss < TARGETS['memory_mb'])}: memory of devserver run with "
            f"{run_rows[0]['routes']:,} routes, {total_pss:.0f} MB PSS for "
            f"{', '.join(r['process'] for r in run_rows)} together (a page they share counted once; "
            f"target < {TARGETS['memory_mb']:.0f})",
            f"- {_verdict(total_rss < TARGETS['memory_mb'])}: the sum of their RSS, {total_rss:.0f} MB "
            f"(target < {TARGETS['memory_mb']:.0f}; it counts a page shared by two processes twice)",
            f"- {result['settings']['routes']:,} routes: first answer {result['big_start_ms']:.0f} ms "
            "after the start"]
    m = result["machine"]
    out.append(f"- machine: {m['nproc']} CPUs, {m['cpu']}, Python {m['python']}, {m['platform']}; "
               + ", ".join(f"{k} {v}" for k, v in m["packages"].items()))
    out.append("- load average (1/5/15 min) at the start: "
               + " / ".join(f"{x:.1f}" for x in m["loadavg_before"]) + "; at the end: "
               + " / ".join(f"{x:.1f}" for x in m["loadavg_after"]))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 2,000 routes instead of 10,000, 1 cold start per mode, 2 files")
    parser.add_argument("--routes", type=int, default=None, help="routes in the big app (10,000)")
    parser.add_argument("--cold-routes", type=int, default=1000, help="routes for the cold start (1,000)")
    parser.add_argument("--starts", type=int, default=None, help="cold starts per mode (5)")
    parser.add_argument("--changes", type=int, default=None, help="files added (and removed) (5)")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the apps and the server logs")
    parser.add_argument("--silent", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    fill_defaults(args, {"routes": (2000, 10_000), "starts": (1, 5), "changes": (2, 5)})
    result = run(args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
