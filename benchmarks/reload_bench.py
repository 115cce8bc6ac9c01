"""Reload benchmark: time from a file write to the first HTTP response that shows the change.

Run it from the repository root::

    .venv/bin/python benchmarks/reload_bench.py              # 20 measured edits per series
    .venv/bin/python benchmarks/reload_bench.py --quick      # a smoke run: 5 edits, short pauses
    .venv/bin/python benchmarks/reload_bench.py --edits 50 --json out.json

One run starts every server at once, each on its own copy of the same small app (one JSON route
``/value`` that returns a value from its own module and one from a helper module it imports), and
then interleaves the edits: every round makes one edit per series, in a shuffled order, so all
servers are measured under the same conditions. The series:

- ``devserver, in place: route``: rewrite ``app/api/value.py`` (the route module);
- ``devserver, in place: helper``: rewrite ``app/lib/helper.py``, imported by the route;
- ``devserver, restart: pyproject.toml``: rewrite ``ROOT/pyproject.toml``, whose
  ``[tool.benchapp] value`` the route module ``app/api/config.py`` reads once, when it is imported.
  A pyproject.toml change is never applied in place (DESIGN §5), so the old worker keeps serving
  the old value until the new worker has imported the route afresh: the new value is visible only
  once the restart has happened. Nothing else is touched;
- ``devserver, restart: module outside ROOT``: rewrite ``ext/benchshared.py``, a module outside
  ROOT (on ``PYTHONPATH``) that ``app/api/outside.py`` imports: also a restart (DESIGN §5);
- ``uvicorn --reload``: a Starlette app; rewrite the route module and, separately, the helper.
  Without ``watchfiles`` installed uvicorn uses its polling ``StatReload``; the reloader in use is
  printed;
- ``flask run --debug``: a Flask app; rewrite the route module and, separately, the helper. With
  ``watchdog`` installed, Werkzeug's reloader is its watchdog reloader;
- ``flask, reloader_type="stat"``: the same app with Werkzeug's polling reloader, started with
  ``app.run(debug=True, reloader_type="stat")`` (``flask run`` has no option to choose it).

Every edit writes a new unique token (same length every time) and the benchmark polls the route
from this process over one keep-alive ``http.client`` connection (reconnecting at once when the
server closes it or is restarting), every ``--poll-interval`` seconds, until the body contains that
token: the time from just before the write to that response is the edit's latency. An edit not
seen within ``--timeout`` seconds is a failure, not a time; after ``--give-up`` failures in a row a
series stops (the rest of its edits are counted as skipped). Each series first makes
``--warmup`` edits that are not counted, and every edit is followed by ``--settle`` seconds of
quiet so that one server's restart never overlaps the next measurement.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Run as a script this folder is on sys.path already; loaded by file location (the tests) it is not.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fill_defaults, free_port, machine, stop_group  # noqa: E402

PATH = "/value"
PACKAGES = ("devserver", "aiohttp", "watchdog", "uvicorn", "starlette", "flask", "werkzeug",
            "watchfiles")  # whose versions the result reports
_DEVSERVER_URL = re.compile(r"at (http://\S+?)/? ")
_DEVSERVER_RELOAD = re.compile(r"reload: .*\((in place|restart)[^)]*\) in ([0-9.]+) ms")
# NOTE: greedy: a reason may hold parentheses ("... (outside ROOT) changed").
_SUPERVISOR_RELOAD = re.compile(r"-> new worker \d+ \(restart.*\) in ([0-9.]+) ms")

# ---------------------------------------------------------------------------------------------
# The apps: the same route and helper, spelled for each server.


def _token(n: int) -> str:
    return f"t{n:05d}-{secrets.token_hex(6)}"  # always 19 characters: edits keep the file size


DEVSERVER_FILES = {
    "app/api/value.py": '''
        from app.lib.helper import HELPER

        ROUTE = "{token}"


        async def get(req):
            return {{"json": {{"route": ROUTE, "helper": HELPER}}}}
    ''',
    "app/lib/helper.py": '''
        HELPER = "{token}"
    ''',
    "app/api/config.py": '''
        import tomllib
        from pathlib import Path

        # Read once, at import: only a fresh import (here: a new worker) sees a new value.
        _PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
        VALUE = tomllib.loads(_PYPROJECT.read_text())["tool"]["benchapp"]["value"]


        async def get(req):
            return {{"json": {{"config": VALUE}}}}
    ''',
    "app/api/outside.py": '''
        from benchshared import SHARED


        async def get(req):
            return {{"json": {{"shared": SHARED}}}}
    ''',
    "pyproject.toml": '''
        [project]
        name = "benchapp"
        version = "0"

        [tool.benchapp]
        value = "{token}"
    ''',
}
OUTSIDE_FILE = '''
    SHARED = "{token}"
'''

UVICORN_FILES = {
    "main.py": '''
        from starlette.applications import Starlette
        from starlette.routing import Route

        import handlers

        app = Starlette(routes=[Route("{path}", handlers.value)])
    ''',
    "handlers.py": '''
        from starlette.responses import JSONResponse

        from helper import HELPER

        ROUTE = "{token}"


        async def value(request):
            return JSONResponse({{"route": ROUTE, "helper": HELPER}})
    ''',
    "helper.py": '''
        HELPER = "{token}"
    ''',
}

FLASK_FILES = {
    "app.py": '''
        from flask import Flask

        import handlers

        app = Flask(__name__)
        app.add_url_rule("{path}", view_func=handlers.value)
    ''',
    "handlers.py": '''
        from helper import HELPER

        ROUTE = "{token}"


        def value():
            return {{"route": ROUTE, "helper": HELPER}}
    ''',
    "helper.py": '''
        HELPER = "{token}"
    ''',
    "run_stat.py": '''
        import sys

        from app import app

        # `flask run` cannot choose Werkzeug's reloader; this is the same server with the stat one.
        app.run(host="127.0.0.1", port=int(sys.argv[1]), debug=True, reloader_type="stat")
    ''',
}


def _render(template: str, token: str) -> str:
    return textwrap.dedent(template).lstrip("\n").format(token=token, path=PATH)


def _write(path: Path, template: str, token: str) -> None:
    """One ordinary save: open, truncate, write, close."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write(_render(template, token))


def _write_app(root: Path, files: dict[str, str], counter: list[int]) -> None:
    for rel, template in files.items():
        counter[0] += 1
        _write(root / rel, template, _token(counter[0]))


# ---------------------------------------------------------------------------------------------
# Servers.


@dataclass
class Server:
    """One server subprocess (in its own process group, so its reloader's children stop with it)."""

    name: str
    cmd: list[str]
    cwd: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    url: str | None = None  # known in advance, or read from devserver's output
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        for name in ("FLASK_APP", "FLASK_DEBUG", "FLASK_RUN_PORT", "WERKZEUG_RUN_MAIN",
                     "WERKZEUG_SERVER_FD", "DEVSERVER_WORKER"):
            env.pop(name, None)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, env=env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.url is None:
                found = _DEVSERVER_URL.search(self.output())
                if found:
                    self.url = found.group(1).rstrip("/")
            if self.url is not None and _get_once(self.url + PATH) is not None:
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM to the group; then SIGKILL to whatever is left (a reloader's server process)."""
        if self.proc is not None:
            stop_group(self.proc)

    @property
    def address(self) -> tuple[str, int]:
        assert self.url is not None
        host, _, port = self.url.removeprefix("http://").rpartition(":")
        return host.strip("[]"), int(port)


def _get_once(url: str) -> bytes | None:
    host, _, rest = url.removeprefix("http://").partition("/")
    name, _, port = host.rpartition(":")
    conn = http.client.HTTPConnection(name, int(port), timeout=2)
    try:
        conn.request("GET", "/" + rest, headers={"Accept": "application/json"})
        response = conn.getresponse()
        body = response.read()
        return body if response.status == 200 else None
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


class Poller:
    """GET one path over one keep-alive connection; reconnect whenever the server drops it."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=10)
        self.path = path
        self.requests = 0
        self.reconnects = 0

    def get(self, timeout: float) -> bytes | None:
        self.conn.timeout = max(0.05, timeout)
        if self.conn.sock is not None:
            self.conn.sock.settimeout(self.conn.timeout)
        self.requests += 1
        try:
            self.conn.request("GET", self.path, headers={"Accept": "application/json"})
            response = self.conn.getresponse()
            body = response.read()
            if response.will_close:
                self.conn.close()
            return body
        except (OSError, http.client.HTTPException):
            self.conn.close()  # the next request connects again
            self.reconnects += 1
            return None

    def close(self) -> None:
        self.conn.close()


# ---------------------------------------------------------------------------------------------
# Series: one kind of edit on one server.


@dataclass
class Series:
    key: str
    server: str
    edit: str
    target: Path
    template: str
    path: str = PATH
    times: list[float] = field(default_factory=list)  # ms
    failures: int = 0
    skipped: int = 0
    in_a_row: int = 0
    given_up: bool = False
    poller: Poller | None = None
    log: list[dict[str, Any]] = field(default_factory=list)  # every edit, warm-up included

    def row(self) -> dict[str, Any]:
        ordered = sorted(self.times)
        return {
            "key": self.key, "server": self.server, "edit": self.edit,
            "detected": len(self.times), "failed": self.failures, "skipped": self.skipped,
            "warmup_failed": sum(1 for e in self.log if e["warmup"] and e["ms"] is None),
            "edits": len(self.times) + self.failures + self.skipped,
            "median_ms": statistics.median(ordered) if ordered else None,
            "p90_ms": _percentile(ordered, 0.9) if ordered else None,
            "max_ms": ordered[-1] if ordered else None,
            "min_ms": ordered[0] if ordered else None,
            "times_ms": [round(t, 2) for t in self.times],
            "log": self.log,
        }


def _percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), on sorted data."""
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def measure(series: Series, token: str, timeout: float, poll_interval: float) -> float | None:
    """Write one edit and poll until a response carries its token; ms, or None on timeout."""
    assert series.poller is not None
    wanted = token.encode()
    started = time.perf_counter()
    _write(series.target, series.template, token)
    deadline = started + timeout
    while True:
        now = time.perf_counter()
        if now >= deadline:
            return None
        body = series.poller.get(deadline - now)
        if body is not None and wanted in body:
            return (time.perf_counter() - started) * 1000
        if poll_interval:
            time.sleep(poll_interval)


# ---------------------------------------------------------------------------------------------
# The run.


@dataclass
class Setup:
    servers: list[Server]
    series: list[Series]
    work: Path


def build(work: Path, which: set[str]) -> Setup:
    py = sys.executable
    counter = [0]
    servers: list[Server] = []
    series: list[Series] = []
    logs = work / "logs"
    logs.mkdir()

    if "devserver" in which:
        root = work / "devserver-app"
        ext = work / "devserver-ext"
        _write_app(root, DEVSERVER_FILES, counter)
        counter[0] += 1
        _write(ext / "benchshared.py", OUTSIDE_FILE, _token(counter[0]))
        servers.append(Server("devserver", [py, "-m", "devserver", "run", str(root), "--host",
                                            "127.0.0.1", "--port", "0"], root,
                              logs / "devserver.log",
                              env={"PYTHONPATH": os.pathsep.join(filter(None, (
                                  str(ext), os.environ.get("PYTHONPATH"))))}))
        series += [
            Series("devserver-route", "devserver", "in place: route module",
                   root / "app/api/value.py", DEVSERVER_FILES["app/api/value.py"]),
            Series("devserver-helper", "devserver", "in place: helper it imports",
                   root / "app/lib/helper.py", DEVSERVER_FILES["app/lib/helper.py"]),
            Series("devserver-pyproject", "devserver", "restart: pyproject.toml value",
                   root / "pyproject.toml", DEVSERVER_FILES["pyproject.toml"], path="/config"),
            Series("devserver-outside", "devserver", "restart: module outside ROOT",
                   ext / "benchshared.py", OUTSIDE_FILE, path="/outside"),
        ]
    if "uvicorn" in which:
        root = work / "uvicorn-app"
        _write_app(root, UVICORN_FILES, counter)
        port = free_port()
        servers.append(Server("uvicorn", [py, "-m", "uvicorn", "main:app", "--reload", "--reload-dir",
                                          str(root), "--app-dir", str(root), "--host", "127.0.0.1",
                                          "--port", str(port), "--no-access-log"], root,
                              logs / "uvicorn.log", url=f"http://127.0.0.1:{port}"))
        series += [
            Series("uvicorn-route", "uvicorn --reload", "route module", root / "handlers.py",
                   UVICORN_FILES["handlers.py"]),
            Series("uvicorn-helper", "uvicorn --reload", "helper it imports", root / "helper.py",
                   UVICORN_FILES["helper.py"]),
        ]
    if "flask" in which:
        root = work / "flask-app"
        _write_app(root, FLASK_FILES, counter)
        port = free_port()
        servers.append(Server("flask", [py, "-m", "flask", "--app", "app", "run", "--debug", "--host",
                                        "127.0.0.1", "--port", str(port)], root, logs / "flask.log",
                              url=f"http://127.0.0.1:{port}"))
        series += [
            Series("flask-route", "flask run --debug", "route module", root / "handlers.py",
                   FLASK_FILES["handlers.py"]),
            Series("flask-helper", "flask run --debug", "helper it imports", root / "helper.py",
                   FLASK_FILES["helper.py"]),
        ]
    if "flask-stat" in which:
        root = work / "flask-stat-app"
        _write_app(root, FLASK_FILES, counter)
        port = free_port()
        servers.append(Server("flask-stat", [py, "run_stat.py", str(port)], root,
                              logs / "flask-stat.log", url=f"http://127.0.0.1:{port}"))
        series += [
            Series("flask-stat-route", 'flask, reloader_type="stat"', "route module",
                   root / "handlers.py", FLASK_FILES["handlers.py"]),
            Series("flask-stat-helper", 'flask, reloader_type="stat"', "helper it imports",
                   root / "helper.py", FLASK_FILES["helper.py"]),
        ]
    return Setup(servers, series, work)


def run(args: argparse.Namespace) -> dict[str, Any]:
    which = set(args.servers.split(","))
    work = Path(tempfile.mkdtemp(prefix="reload-bench-"))
    setup = build(work, which)
    by_name = {s.name: s for s in setup.servers}
    rng = random.Random(args.seed)
    load_before = os.getloadavg()
    try:
        for server in setup.servers:
            server.start()
            _say(f"started {server.name} at {server.url}", args)
        for s in setup.series:
            server = by_name[_server_of(s)]
            host, port = server.address
            s.poller = Poller(host, port, s.path)
            if s.poller.get(5) is None:
                raise RuntimeError(f"{s.key}: no answer at {server.url}{s.path}")
        counter = 100_000
        rounds = args.warmup + args.edits
        for round_no in range(rounds):
            warm = round_no < args.warmup
            order = list(setup.series)
            rng.shuffle(order)
            for s in order:
                if s.given_up:
                    if not warm:
                        s.skipped += 1
                    continue
                counter += 1
                token = _token(counter)
                at = time.time()
                took = measure(s, token, args.timeout, args.poll_interval)
                s.log.append({"round": round_no, "warmup": warm, "token": token, "at": at,
                              "ms": None if took is None else round(took, 2)})
                if took is None:
                    s.in_a_row += 1
                    if not warm:
                        s.failures += 1
                    if s.in_a_row >= args.give_up:
                        s.given_up = True
                        _say(f"{s.key}: {s.in_a_row} edits in a row not seen within "
                             f"{args.timeout:g} s; giving up on this series", args)
                        name = _server_of(s)
                        if all(o.given_up for o in setup.series if _server_of(o) == name):
                            # NOTE: a reloader that never fires may still burn CPU (Werkzeug's
                            # watchdog loop re-walks its trees after every inotify overflow):
                            # stop it, so it does not slow down the servers still measured.
                            by_name[name].stop()
                            _say(f"stopped {name}: none of its series is measured any more", args)
                else:
                    s.in_a_row = 0
                    if not warm:
                        s.times.append(took)
                time.sleep(args.settle)
            label = "warm-up" if warm else f"edit {round_no - args.warmup + 1}/{args.edits}"
            _say(f"round {round_no + 1}/{rounds} ({label}) done", args)
        logs = {server.name: server.output() for server in setup.servers}
    finally:
        for s in setup.series:
            if s.poller is not None:
                s.poller.close()
        for server in setup.servers:
            server.stop()
    result = {
        "rows": [s.row() for s in setup.series],
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
        "machine": {**machine(PACKAGES), "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
        "reloaders": _reloaders(logs),
        "inotify_overflows": {name: text.count("Inotify queue overflowed") for name, text in logs.items()
                              if "Inotify queue overflowed" in text},
        "devserver_self_reported_ms": _devserver_self_reported(logs.get("devserver", "")),
        "work": str(work),
    }
    if args.keep:
        _say(f"apps and server logs kept in {work}", args)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _server_of(s: Series) -> str:
    return s.key.rsplit("-", 1)[0]


def _say(text: str, args: argparse.Namespace) -> None:
    if not args.silent:
        print(f"# {text}", file=sys.stderr, flush=True)


def _reloaders(logs: dict[str, str]) -> dict[str, str]:
    found = {}
    uv = re.search(r"Started reloader process \[\d+\] using (\w+)", logs.get("uvicorn", ""))
    if uv:
        found["uvicorn"] = uv.group(1)
    for name in ("flask", "flask-stat"):
        fl = re.search(r"Restarting with (\w+)", logs.get(name, ""))
        if fl:
            found[name] = fl.group(1)
    return found


def _devserver_self_reported(log: str) -> dict[str, Any]:
    """devserver's own reload times from its log: in place (worker) and restart (supervisor)."""
    in_place = [float(m.group(2)) for m in _DEVSERVER_RELOAD.finditer(log) if m.group(1) == "in place"]
    restart = [float(m.group(1)) for m in _SUPERVISOR_RELOAD.finditer(log)]
    out: dict[str, Any] = {}
    for name, values in (("in_place", in_place), ("restart", restart)):
        if values:
            out[name] = {"count": len(values), "median_ms": statistics.median(values),
                         "max_ms": max(values)}
    # A restart after devserver's own files changed on disk imports them afresh (slow, and
    # only seen when they are edited during the run, as in a shared checkout).
    out["restarts_that_reimported_devserver"] = log.count("importing them afresh")
    return out


# ---------------------------------------------------------------------------------------------
# Reporting.


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def table(result: dict[str, Any]) -> str:
    lines = ["| server | edit | seen | median ms | p90 ms | max ms |",
             "|---|---|---:|---:|---:|---:|"]
    for row in result["rows"]:
        seen = f"{row['detected']}/{row['edits']}"
        if row["failed"]:
            seen += f" ({row['failed']} timed out"
            seen += f", {row['skipped']} skipped" if row["skipped"] else ""
            seen += f"; {row['warmup_failed']} warm-up edits too)" if row["warmup_failed"] else ")"
        lines.append(f"| {row['server']} | {row['edit']} | {seen} | {_ms(row['median_ms'])} | "
                     f"{_ms(row['p90_ms'])} | {_ms(row['max_ms'])} |")
    return "\n".join(lines)


def verdicts(result: dict[str, Any]) -> list[str]:
    rows = {r["key"]: r for r in result["rows"]}
    out = []

    def med(key: str) -> float | None:
        row = rows.get(key)
        return None if row is None or row["failed"] or row["median_ms"] is None else row["median_ms"]

    uvicorn = [m for m in (med("uvicorn-route"), med("uvicorn-helper")) if m is not None]
    uv = min(uvicorn) if uvicorn else None
    for key in ("devserver-route", "devserver-helper"):
        row = rows.get(key)
        if row is None or row["median_ms"] is None:
            continue
        ok = row["median_ms"] < 20 and row["p90_ms"] < 50 and not row["failed"]
        text = (f"{key}: median {_ms(row['median_ms'])} ms (target < 20), p90 {_ms(row['p90_ms'])} ms "
                f"(target < 50), {row['detected']}/{row['edits']} seen")
        if uv is not None:
            ratio = uv / row["median_ms"]
            ok = ok and ratio >= 10
            text += f", {ratio:.0f}x faster than uvicorn's median (target >= 10x)"
        out.append(("met: " if ok else "MISSED: ") + text)
    for key in ("devserver-pyproject", "devserver-outside"):
        row = rows.get(key)
        if row is None or row["median_ms"] is None or uv is None:
            continue
        ok = row["median_ms"] <= uv and not row["failed"]
        out.append(("met: " if ok else "MISSED: ") + f"{key}: median {_ms(row['median_ms'])} ms, "
                   f"uvicorn's median {_ms(uv)} ms (target: no slower)")
    return out


def report(result: dict[str, Any]) -> str:
    m = result["machine"]
    s = result["settings"]
    parts = [table(result), ""]
    parts += [f"- {line}" for line in verdicts(result)]
    if result["reloaders"]:
        parts.append("- reloaders in use: " + ", ".join(f"{k}: {v}" for k, v in result["reloaders"].items()))
    for name, count in result["inotify_overflows"].items():
        parts.append(f"- {name}: {count} 'Inotify queue overflowed' warnings in its log (watchdog)")
    own = dict(result["devserver_self_reported_ms"])
    fresh = own.pop("restarts_that_reimported_devserver", 0)
    if own:
        parts.append("- devserver's own log (in place: from burst to swap; restart: from the request "
                     "to the new worker ready): " + "; ".join(
            f"{k.replace('_', ' ')} median {_ms(v['median_ms'])} ms, max {_ms(v['max_ms'])} ms "
            f"over {v['count']} reloads" for k, v in own.items()))
    if fresh:
        parts.append(f"- {fresh} restarts found devserver's own modules changed on disk (edited "
                     "during the run) and imported them afresh, which is slower")
    parts.append(f"- {s['edits']} measured edits per series after {s['warmup']} warm-up, interleaved; "
                 f"timeout {s['timeout']:g} s, poll every {s['poll_interval'] * 1000:g} ms, "
                 f"{s['settle'] * 1000:g} ms pause after each edit")
    pk = m["packages"]
    parts.append(f"- machine: {m['nproc']} CPUs, {m['cpu']}, Python {m['python']}, {m['platform']}; "
                 + ", ".join(f"{k} {v}" for k, v in pk.items()))
    load = " / ".join(f"{x:.1f}" for x in m["loadavg_before"])
    parts.append(f"- load average (1/5/15 min) at the start: {load}; at the end: "
                 + " / ".join(f"{x:.1f}" for x in m["loadavg_after"]))
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--edits", type=int, default=None, help="measured edits per series (20)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 5 edits, 1 warm-up, 5 s timeout, shorter pauses, "
                             "give up on a series after 1 miss")
    parser.add_argument("--warmup", type=int, default=None, help="uncounted edits per series first (2)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds before an edit has failed (10)")
    parser.add_argument("--give-up", type=int, default=None,
                        help="stop a series after this many failures in a row (3)")
    parser.add_argument("--poll-interval", type=float, default=0.001, help="seconds between polls")
    parser.add_argument("--settle", type=float, default=None, help="seconds of quiet after each edit")
    parser.add_argument("--servers", default="devserver,uvicorn,flask,flask-stat",
                        help="comma-separated subset of devserver,uvicorn,flask,flask-stat")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the apps and the server logs")
    parser.add_argument("--silent", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    fill_defaults(args, {"edits": (5, 20), "warmup": (1, 2), "timeout": (5.0, 10.0),
                         "give_up": (1, 3), "settle": (0.2, 0.5)})
    unknown = set(args.servers.split(",")) - {"devserver", "uvicorn", "flask", "flask-stat"}
    if unknown or args.edits < 1:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}" if unknown else "--edits >= 1")
    result = run(args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
