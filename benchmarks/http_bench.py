"""HTTP benchmark: devserver beside bare aiohttp, Starlette on uvicorn and the Flask dev server.

Run it from the repository root::

    .venv/bin/python benchmarks/http_bench.py            # 5 rounds of 3 s per measurement
    .venv/bin/python benchmarks/http_bench.py --quick    # a smoke run: 1 round of 1 s
    .venv/bin/python benchmarks/http_bench.py --rounds 7 --duration 5 --json out.json

One run starts every server at once, each on its own copy of the same small app, and then
measures the same four requests against each of them, interleaved: every round measures every
(server, request) pair once, in a shuffled order, so slow drifts of the machine hit all servers
alike. The requests:

- ``api``: ``GET /users/42`` with ``Accept: application/json``: the route ``users/$id``, whose
  handler returns a small JSON object (a user with four fields);
- ``page``: ``GET /users/42`` with a browser's ``Accept``: the same route's Jinja2 page, rendered
  with the handler's JSON as ``store`` and the store embedded for hydration before ``</body>``;
- ``404``: ``GET /nope/x`` with a browser's ``Accept`` (devserver in dev answers its explained
  404 page);
- ``static``: ``GET /_public/app.css`` (a 4 KiB stylesheet).

The servers (each in its own process group, started from this process):

- ``aiohttp``: a bare aiohttp app doing the same work by hand: one JSON handler, one handler that
  renders the same template with its own ``jinja2.Environment`` and embeds the store, a static
  route. This is the limit devserver is compared with: every ratio is to this server;
- ``devserver``: ``devserver run`` as a user runs it: a supervisor and one worker, reload on, so
  the request journal and the live-reload script injection are on (asyncio event loop, forced
  with ``DEVSERVER_LOOP=asyncio`` when uvloop is installed);
- ``devserver --no-reload``: one process, the journal on, no watcher and no injected script;
- ``devserver + uvloop``: ``devserver run`` with the ``devserver[speed]`` extra (uvloop)
  installed; only when uvloop is installed;
- ``aiohttp + uvloop``: the bare app on uvloop; only when uvloop is installed;
- ``starlette/uvicorn``: Starlette on ``uvicorn`` with its default settings (``--loop auto`` picks
  uvloop when it is installed, ``--http auto`` picks httptools when it is installed, as with
  ``pip install 'uvicorn[standard]'`` and the ``bench`` extra; the ones in use are read from the
  process's loaded libraries and printed), access log off;
- ``flask run``: the Flask dev server (threaded, no debugger, no reloader).

The load comes from a separate process: ``wrk -t1 -c32`` (one thread, 32 keep-alive connections)
when ``wrk`` is on PATH, else a small aiohttp client with the same fixed concurrency (much slower
than wrk: it then measures the client as much as the servers; the report says which was used).
Each measurement reports requests per second, the 50th and 99th percentile latency (wrk's own
histogram), the answers with another status than the request must get (every response is
checked under load, by wrk's Lua ``response`` hook; any wrong answer or connection error fails the
run), and the server's CPU time per request: user + system time of the server's processes
(all of them: devserver's supervisor and worker) from ``/proc/<pid>/stat`` before and after,
divided by the requests answered. Each number in the table is the median over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import importlib.util
import json
import os
import random
import re
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

from _common import descendants, free_port, machine, stat_fields, stop_group  # noqa: E402

CONNECTIONS = 32
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PACKAGES = ("devserver", "aiohttp", "jinja2", "uvloop", "starlette", "uvicorn", "httptools", "flask",
            "werkzeug")  # whose versions the result reports
TABLE_HEAD = ("| request | server | req/s | vs aiohttp | p50 ms | p99 ms | CPU µs/req | vs aiohttp "
              "| µs/req over aiohttp |")


@dataclass(frozen=True)
class Request:
    key: str
    path: str
    accept: str
    status: int
    expect: str  # text the body must contain (checked once per server before measuring)


REQUESTS = (
    Request("api", "/users/42", "application/json", 200, '"Ada Lovelace"'),
    Request("page", "/users/42", BROWSER_ACCEPT, 200, "<h1>Ada Lovelace</h1>"),
    Request("404", "/nope/x", BROWSER_ACCEPT, 404, ""),
    Request("static", "/_public/app.css", BROWSER_ACCEPT, 200, ".card-0 {"),
)

# ---------------------------------------------------------------------------------------------
# The apps: the same route, page, 404 and static file, spelled for each server.

USER = '{"id": user_id, "name": "Ada Lovelace", "email": "ada@example.com", "roles": ["admin", "author"]}'

TEMPLATE = """\
<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{{ store.user.name }}</title>
  <link rel="stylesheet" href="/_public/app.css">
</head>
<body>
  <main>
    <h1>{{ store.user.name }}</h1>
    <p>{{ store.user.email }} · user {{ req.params.id }}</p>
    <ul>{% for role in store.user.roles %}<li>{{ role }}</li>{% endfor %}</ul>
  </main>
</body>
</html>
"""

CSS = "".join(f".card-{i} {{ padding: {i % 7}px; margin: 0 auto; color: #{i:03x}; }}\n"
              for i in range(80))[:4096]

DEVSERVER_ROUTE = f'''
async def get(req):
    user_id = req.params["id"]
    return {{"json": {{"user": {USER}}}}}
'''

# NOTE: the store is embedded the way devserver does it (JSON, `<` escaped, before </body>): the
# same work by hand, so the page comparison is about the framework, not the output.
HAND_STORE = '''
def store_script(store):
    text = json.dumps(store, ensure_ascii=False).replace("<", "\\\\u003c").replace(">", "\\\\u003e")
    return f'<script type="application/json" id="devserver-store">{text}</script>'


def with_store(html, store):
    at = html.rfind("</body>")
    return html[:at] + store_script(store) + html[at:]
'''

AIOHTTP_APP = f'''
import json
import sys
from pathlib import Path

import jinja2
from aiohttp import web

HERE = Path(__file__).parent
env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True)
{HAND_STORE}

def find_user(user_id):
    return {USER}


async def user(request):
    user_id = request.match_info["id"]
    store = {{"user": find_user(user_id)}}
    accept = request.headers.get("Accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return web.json_response(store)
    html = env.get_template("user.html").render(store=store, req={{"params": {{"id": user_id}}}})
    return web.Response(text=with_store(html, store), content_type="text/html")


app = web.Application()
app.router.add_get("/users/{{id}}", user)
app.router.add_static("/_public", str(HERE / "public"))

if __name__ == "__main__":
    if sys.argv[2:] == ["uvloop"]:
        import uvloop

        uvloop.install()
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
'''

STARLETTE_APP = f'''
import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
{HAND_STORE}

def find_user(user_id):
    return {USER}


async def user(request):
    user_id = request.path_params["id"]
    store = {{"user": find_user(user_id)}}
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return JSONResponse(store)
    html = templates.get_template("user.html").render(store=store, req={{"params": {{"id": user_id}}}})
    return HTMLResponse(with_store(html, store))


app = Starlette(routes=[
    Route("/users/{{id}}", user),
    Mount("/_public", app=StaticFiles(directory=str(HERE / "public"))),
])
'''

FLASK_APP = f'''
import json
from pathlib import Path

from flask import Flask, jsonify, render_template, request

HERE = Path(__file__).parent
app = Flask(__name__, static_url_path="/_public", static_folder=str(HERE / "public"),
            template_folder=str(HERE / "templates"))
{HAND_STORE}

def find_user(user_id):
    return {USER}


@app.get("/users/<user_id>")
def user(user_id):
    store = {{"user": find_user(user_id)}}
    accept = request.headers.get("Accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return jsonify(store)
    html = render_template("user.html", store=store, req={{"params": {{"id": user_id}}}})
    return with_store(html, store)
'''


def write_apps(work: Path) -> dict[str, Path]:
    """One folder per kind of app; each gets its own copy of the template and the stylesheet."""
    roots = {}
    dev = work / "devserver-app"
    _put(dev / "app/api/users/$id.py", DEVSERVER_ROUTE)
    _put(dev / "app/pages/users/$id.html", TEMPLATE)
    _put(dev / "public/app.css", CSS)
    roots["devserver"] = dev
    for name, source, module in (("aiohttp", AIOHTTP_APP, "server.py"),
                                 ("starlette", STARLETTE_APP, "server.py"),
                                 ("flask", FLASK_APP, "server.py")):
        root = work / f"{name}-app"
        _put(root / module, textwrap.dedent(source).lstrip("\n"))
        _put(root / "templates/user.html", TEMPLATE)
        _put(root / "public/app.css", CSS)
        roots[name] = root
    return roots


def _put(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Servers.


@dataclass
class Server:
    """One server subprocess, in its own process group so every process it starts is found."""

    key: str
    label: str
    cmd: list[str]
    cwd: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int | None = None  # known in advance, or read from --ready-file
    ready_file: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        for name in ("FLASK_APP", "FLASK_DEBUG", "WERKZEUG_RUN_MAIN", "WERKZEUG_SERVER_FD",
                     "DEVSERVER_WORKER"):
            env.pop(name, None)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, env=env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.port is None and self.ready_file is not None and self.ready_file.exists():
                url = self.ready_file.read_text().strip()
                if url:
                    self.port = int(url.rsplit(":", 1)[1])
            if self.port is not None and fetch(self.port, REQUESTS[0]) is not None:
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.label} did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def pids(self) -> list[int]:
        """The group leader and every process descended from it (devserver's worker)."""
        assert self.proc is not None
        return [self.proc.pid, *descendants(self.proc.pid)]

    def stop(self) -> None:
        """SIGTERM to the group, then SIGKILL to whatever is left of it."""
        if self.proc is not None:
            stop_group(self.proc)


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat_fields(pid)
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def fetch(port: int, req: Request) -> tuple[int, bytes] | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", req.path, headers={"Accept": req.accept})
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def build_servers(work: Path, roots: dict[str, Path], which: list[str]) -> list[Server]:
    py = sys.executable
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    has_uvloop = importlib.util.find_spec("uvloop") is not None
    servers = []

    def devserver(key: str, label: str, extra: list[str], loop: str) -> Server:
        ready = work / f"{key}.ready"
        return Server(key, label, [py, "-m", "devserver", "run", str(roots["devserver"]), "--port", "0",
                                   "--ready-file", str(ready), *extra],
                      roots["devserver"], logs / f"{key}.log", env={"DEVSERVER_LOOP": loop},
                      ready_file=ready)

    for key in which:
        port = free_port()
        if key == "aiohttp":
            servers.append(Server(key, "aiohttp", [py, "server.py", str(port)], roots["aiohttp"],
                                  logs / "aiohttp.log", port=port))
        elif key == "devserver":
            servers.append(devserver(key, "devserver", [], "asyncio"))
        elif key == "devserver-noreload":
            servers.append(devserver(key, "devserver --no-reload", ["--no-reload"], "asyncio"))
        elif key == "devserver-uvloop" and has_uvloop:
            servers.append(devserver(key, "devserver + uvloop", [], "auto"))
        elif key == "aiohttp-uvloop" and has_uvloop:
            servers.append(Server(key, "aiohttp + uvloop", [py, "server.py", str(port), "uvloop"],
                                  roots["aiohttp"], logs / f"{key}.log", port=port))
        elif key == "starlette":
            servers.append(Server(key, "starlette/uvicorn",
                                  [py, "-m", "uvicorn", "server:app", "--host", "127.0.0.1", "--port",
                                   str(port), "--no-access-log", "--log-level", "warning"],
                                  roots["starlette"], logs / "starlette.log", port=port))
        elif key == "flask":
            servers.append(Server(key, "flask run", [py, "-m", "flask", "--app", "server", "run",
                                                     "--host", "127.0.0.1", "--port", str(port),
                                                     "--with-threads", "--no-reload", "--no-debugger"],
                                  roots["flask"], logs / "flask.log", port=port))
    return servers


def check(server: Server) -> None:
    """Every request answers what it should before anything is timed."""
    assert server.port is not None
    for req in REQUESTS:
        got = fetch(server.port, req)
        if got is None:
            raise RuntimeError(f"{server.label}: no answer to {req.path}")
        status, body = got
        if status != req.status or req.expect.encode() not in body:
            raise RuntimeError(f"{server.label}: {req.key} {req.path} answered {status}, "
                               f"expected {req.status} with {req.expect!r}:\n{body[:400]!r}")


# ---------------------------------------------------------------------------------------------
# Load: wrk when it is installed, else an aiohttp client in a separate process.

# NOTE: every response's status is checked (`wrong`: not the status the request must get), in
# wrk's threads; done() runs in another Lua state and collects the counts from each thread.
WRK_SCRIPT = """
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  expected = tonumber(args[1])
  wrong = 0
end
function response(status, headers, body)
  if status ~= expected then
    wrong = wrong + 1
  end
end
done = function(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("wrong")
  end
  io.write(string.format(
    "WRKJSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, \\"p99_us\\": %d, " ..
    "\\"errors\\": %d, \\"wrong\\": %d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    bad))
end
"""


@dataclass
class Sample:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # connection errors and timeouts
    wrong: int  # answers with another status than the request must get
    cpu_s: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.cpu_s / max(self.requests, 1) * 1e6


class Load:
    def __init__(self, work: Path, use_wrk: bool) -> None:
        self.wrk = shutil.which("wrk") if use_wrk else None
        self.script = work / "report.lua"
        self.script.write_text(WRK_SCRIPT)

    @property
    def name(self) -> str:
        return (f"wrk -t1 -c{CONNECTIONS}" if self.wrk else
                f"aiohttp client, {CONNECTIONS} concurrent requests (wrk not found)")

    def run(self, port: int, req: Request, duration: float) -> dict[str, Any]:
        url = f"http://127.0.0.1:{port}{req.path}"
        if self.wrk:
            # NOTE: wrk takes whole seconds only.
            cmd = [self.wrk, "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(duration))}s", "--timeout", "5s",
                   "-s", str(self.script), "-H", f"Accept: {req.accept}", url, "--", str(req.status)]
        else:
            cmd = [sys.executable, __file__, "--load-client", url, "--accept", req.accept,
                   "--duration", str(duration), "--status", str(req.status)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
        found = re.search(r"WRKJSON (\{.*\})", done.stdout)
        if done.returncode != 0 or not found:
            raise RuntimeError(f"load generator failed on {url}:\n{done.stdout}\n{done.stderr}")
        result: dict[str, Any] = json.loads(found.group(1))
        return result


def measure(server: Server, req: Request, load: Load, duration: float) -> Sample:
    assert server.port is not None
    pids = server.pids()
    before = cpu_seconds(pids)
    out = load.run(server.port, req, duration)
    after = cpu_seconds(pids)
    seconds = out["duration_us"] / 1e6
    return Sample(out["requests"], seconds, out["p50_us"] / 1000, out["p99_us"] / 1000,
                  out["errors"], out["wrong"], after - before)


async def _client(url: str, accept: str, duration: float, status: int) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    errors = wrong = 0
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector, headers={"Accept": accept}) as session:
        started = time.perf_counter()
        deadline = started + duration

        async def worker() -> None:
            nonlocal errors, wrong
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    async with session.get(url) as response:
                        await response.read()
                        wrong += response.status != status
                except aiohttp.ClientError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0.0

    return {"requests": len(latencies), "duration_us": int(elapsed * 1e6), "p50_us": int(pct(0.5) * 1e6),
            "p99_us": int(pct(0.99) * 1e6), "errors": errors, "wrong": wrong}


# ---------------------------------------------------------------------------------------------
# The run.


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="http-bench-"))
    roots = write_apps(work)
    servers = build_servers(work, roots, args.servers.split(","))
    load = Load(work, use_wrk=not args.no_wrk)
    rng = random.Random(args.seed)
    samples: dict[tuple[str, str], list[Sample]] = {}
    load_before = os.getloadavg()
    try:
        for server in servers:
            server.start()
            check(server)
            _say(f"started {server.label} on port {server.port} ({len(server.pids())} processes)", args)
        wanted = [r for r in REQUESTS if r.key in args.requests.split(",")]
        pairs = [(s, r) for s in servers for r in wanted]
        for server, req in pairs:  # warm-up: imports, template compilation, caches
            load.run(server.port or 0, req, args.warmup)
        for round_no in range(args.rounds):
            rng.shuffle(pairs)
            for server, req in pairs:
                sample = measure(server, req, load, args.duration)
                samples.setdefault((server.key, req.key), []).append(sample)
            _say(f"round {round_no + 1}/{args.rounds} done", args)
        loops = {s.key: _loop_in_use(s) for s in servers}
    finally:
        for server in servers:
            server.stop()
    result = {
        "rows": _rows(servers, samples),
        "loops": loops,
        "load": load.name,
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "load_client")},
        "machine": {**this_machine(), "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
    }
    if args.keep:
        _say(f"apps and server logs kept in {work}", args)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _loop_in_use(server: Server) -> str:
    """Which event loop (and HTTP parser) a server runs on.

    For uvicorn and the bare app, read from the shared objects their process has loaded
    (``/proc/<pid>/maps``): they import uvloop and httptools only to use them. devserver's fork
    server imports uvloop ahead of its workers whichever loop they run, so there it is the setting
    (``DEVSERVER_LOOP``, which ``devserver.eventloop`` follows).
    """
    if server.key == "flask":
        return "threads (werkzeug)"
    if server.key.startswith("devserver"):
        return "asyncio (DEVSERVER_LOOP=asyncio)" if server.env.get("DEVSERVER_LOOP") == "asyncio" \
            else "uvloop (devserver[speed] installed)"
    maps = ""
    for pid in server.pids():
        with contextlib.suppress(OSError):
            maps += Path(f"/proc/{pid}/maps").read_text()
    loop = "uvloop" if "/uvloop/loop." in maps else "asyncio"
    if server.key == "starlette":
        parser = "httptools" if "/httptools/" in maps else "h11"
        return f"{loop} + {parser} (uvicorn --loop auto --http auto)"
    return loop


def _rows(servers: list[Server], samples: dict[tuple[str, str], list[Sample]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for req in REQUESTS:
        for server in servers:
            got = samples.get((server.key, req.key), [])
            if not got:
                continue
            rows.append({
                "request": req.key, "server": server.key, "label": server.label,
                "rps": statistics.median(s.rps for s in got),
                "rps_min": min(s.rps for s in got), "rps_max": max(s.rps for s in got),
                "p50_ms": statistics.median(s.p50_ms for s in got),
                "p99_ms": statistics.median(s.p99_ms for s in got),
                "cpu_us": statistics.median(s.cpu_us for s in got),
                "errors": sum(s.errors for s in got), "wrong": sum(s.wrong for s in got),
                "requests": sum(s.requests for s in got), "rounds": len(got),
            })
    base = {r["request"]: r for r in rows if r["server"] == "aiohttp"}
    for row in rows:
        ref = base.get(row["request"])
        row["rps_ratio"] = row["rps"] / ref["rps"] if ref else None
        row["cpu_ratio"] = row["cpu_us"] / ref["cpu_us"] if ref and ref["cpu_us"] else None
        row["cpu_over_us"] = row["cpu_us"] - ref["cpu_us"] if ref else None
    return rows


def _say(text: str, args: argparse.Namespace) -> None:
    if not args.silent:
        print(f"# {text}", file=sys.stderr, flush=True)


def wrk_version() -> str:
    wrk = shutil.which("wrk")
    if not wrk:
        return "not installed"
    done = subprocess.run([wrk, "--version"], capture_output=True, text=True)
    return (done.stdout or done.stderr).split(" [")[0].strip()


def this_machine() -> dict[str, Any]:
    """The result's "machine": the shared fields, wrk's version and the servers' packages."""
    return machine(PACKAGES, wrk=wrk_version())


# ---------------------------------------------------------------------------------------------
# Reporting.


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def table(result: dict[str, Any]) -> str:
    lines = [TABLE_HEAD, "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in result["rows"]:
        errors = f" ({row['errors']} errors)" if row["errors"] else ""
        errors += f" ({row['wrong']} WRONG answers)" if row["wrong"] else ""
        over = "—" if row["cpu_over_us"] is None or row["server"] == "aiohttp" else \
            f"{row['cpu_over_us']:+.0f}"
        lines.append(f"| {row['request']} | {row['label']} | {row['rps']:,.0f}{errors} | "
                     f"{_ratio(row['rps_ratio'])} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | "
                     f"{row['cpu_us']:.0f} | {_ratio(row['cpu_ratio'])} | {over} |")
    return "\n".join(lines)


def verdicts(result: dict[str, Any]) -> list[str]:
    rows = {(r["request"], r["server"]): r for r in result["rows"]}
    out = []
    for request, target in (("api", 0.90), ("page", 0.75)):
        for server in ("devserver", "devserver-noreload", "devserver-uvloop"):
            row = rows.get((request, server))
            if row is None or row["rps_ratio"] is None:
                continue
            ok = row["rps_ratio"] >= target
            out.append(f"{'met' if ok else 'MISSED'}: {request}, {row['label']}: "
                       f"{row['rps_ratio']:.0%} of bare aiohttp's req/s (target >= {target:.0%})")
    for request in ("api", "page"):
        fast, rival = rows.get((request, "devserver-uvloop")), rows.get((request, "starlette"))
        if fast is None or rival is None:
            continue
        ok = fast["rps"] > rival["rps"]
        out.append(f"{'met' if ok else 'MISSED'}: {request}, devserver + uvloop "
                   f"{fast['rps']:,.0f} req/s vs starlette/uvicorn {rival['rps']:,.0f} (target: faster)")
    return out


def report(result: dict[str, Any]) -> str:
    m = result["machine"]
    s = result["settings"]
    parts = [table(result), ""]
    parts += [f"- {line}" for line in verdicts(result)]
    parts.append(f"- load: {result['load']}, {s['duration']:g} s per measurement, {s['rounds']} "
                 f"interleaved rounds (median shown) after a {s['warmup']:g} s warm-up per pair")
    parts.append("- event loops: " + ", ".join(f"{k}: {v}" for k, v in result["loops"].items()))
    spread = ", ".join(f"{r['request']}/{r['server']} {r['rps_min']:,.0f}–{r['rps_max']:,.0f}"
                       for r in result["rows"])
    parts.append(f"- req/s range over the rounds: {spread}")
    pk = m["packages"]
    parts.append(f"- machine: {m['nproc']} CPUs, {m['cpu']}, Python {m['python']}, {m['platform']}, "
                 f"{m['wrk']}; " + ", ".join(f"{k} {v}" for k, v in pk.items()))
    parts.append("- load average (1/5/15 min) at the start: "
                 + " / ".join(f"{x:.1f}" for x in m["loadavg_before"]) + "; at the end: "
                 + " / ".join(f"{x:.1f}" for x in m["loadavg_after"]))
    return "\n".join(parts)


SERVERS = "aiohttp,devserver,devserver-noreload,devserver-uvloop,aiohttp-uvloop,starlette,flask"


# ---------------------------------------------------------------------------------------------
# Instructions per request (--instructions): load-independent, for a shared or noisy machine.
#
# The same request is pushed N times through aiohttp's whole HTTP stack (parser, app, response
# writer) in one process, over a transport that keeps nothing, once with N and once with 3N
# requests, under valgrind's callgrind; the difference of the two instruction totals over 2N is
# the instructions one request costs, start-up and imports cancelled out. Only the two aiohttp
# based apps on asyncio are measured this way: bare aiohttp and devserver's app as `devserver run`
# builds it (dev, reload on: journal and live-reload injection), without the file watcher thread.

async def _push(app: Any, raw: bytes, count: int) -> None:
    from aiohttp import web

    class Sink(asyncio.Transport):
        def __init__(self) -> None:
            super().__init__()
            self.writes = 0

        def write(self, data: Any) -> None:
            self.writes += 1

        def writelines(self, data: Any) -> None:
            self.writes += 1

        def is_closing(self) -> bool:
            return False

        def close(self) -> None:
            pass

        def get_extra_info(self, name: str, default: Any = None) -> Any:
            return ("127.0.0.1", 40000) if name == "peername" else default

    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    handler = runner.server()  # type: ignore[misc]
    sink = Sink()
    handler.connection_made(sink)
    done = 0
    while done < count:
        batch = min(CONNECTIONS, count - done)
        target = sink.writes + batch
        handler.data_received(raw * batch)  # pipelined, answered in order
        while sink.writes < target:
            await asyncio.sleep(0)
        done += batch
    handler.connection_lost(None)
    await runner.cleanup()


def _inprocess(root: Path, server: str, request: str, count: int) -> None:
    req = next(r for r in REQUESTS if r.key == request)
    raw = f"GET {req.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: {req.accept}\r\n\r\n".encode()
    if server == "aiohttp":
        sys.path.insert(0, str(root / "aiohttp-app"))
        import server as bare  # type: ignore[import-not-found]

        app = bare.app
    else:
        from devserver.config import Config
        from devserver.server import create_app

        app = create_app(Config(root / "devserver-app", dev=True, reload=True))
        app.cleanup_ctx.clear()  # no watcher thread: its start-up would not cancel out
    asyncio.run(_push(app, raw, count))


def instructions(args: argparse.Namespace) -> dict[str, Any]:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    work = Path(tempfile.mkdtemp(prefix="http-bench-insn-"))
    write_apps(work)
    rows = []
    n = args.count
    for request in args.requests.split(","):
        per: dict[str, float] = {}
        for server in ("aiohttp", "devserver"):
            totals = []
            for count in (n, 3 * n):
                out = work / f"callgrind.{server}.{request}.{count}"
                cmd = [valgrind, "--tool=callgrind", "--cache-sim=no", f"--callgrind-out-file={out}",
                       sys.executable, __file__, "--inprocess", server, "--root", str(work),
                       "--requests", request, "--count", str(count)]
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
                found = re.search(r"Collected : (\d+)", done.stderr)
                if done.returncode != 0 or not found:
                    raise RuntimeError(f"callgrind failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")
                totals.append(int(found.group(1)))
            per[server] = (totals[1] - totals[0]) / (2 * n)
            _say(f"{request} {server}: {per[server]:,.0f} instructions per request", args)
        rows.append({"request": request, "aiohttp": per["aiohttp"], "devserver": per["devserver"],
                     "ratio": per["aiohttp"] / per["devserver"]})
    shutil.rmtree(work, ignore_errors=True)
    return {"rows": rows, "count": n, "machine": this_machine()}


def instructions_report(result: dict[str, Any]) -> str:
    lines = ["| request | bare aiohttp, instructions/req | devserver, instructions/req | devserver over "
             "aiohttp | aiohttp/devserver (throughput ratio if CPU-bound) |",
             "|---|---:|---:|---:|---:|"]
    for row in result["rows"]:
        lines.append(f"| {row['request']} | {row['aiohttp']:,.0f} | {row['devserver']:,.0f} | "
                     f"{row['devserver'] - row['aiohttp']:+,.0f} | {row['ratio']:.2f} |")
    lines.append(f"\n- callgrind, {result['count']:,} and {3 * result['count']:,} requests per run, "
                 "asyncio, in one process (no sockets, no load generator)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 round of 1 s, 1 s warm-up")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (5)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per measurement (3)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds of warm-up per pair (1)")
    parser.add_argument("--servers", default=SERVERS, help=f"comma-separated subset of {SERVERS}")
    parser.add_argument("--requests", default=",".join(r.key for r in REQUESTS),
                        help="comma-separated subset of the requests (api,page,404,static)")
    parser.add_argument("--no-wrk", action="store_true", help="use the aiohttp client even if wrk is here")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the apps and the server logs")
    parser.add_argument("--silent", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--instructions", action="store_true",
                        help="instead: instructions per request under valgrind (bare aiohttp and devserver)")
    parser.add_argument("--count", type=int, default=500,
                        help="--instructions: N, for runs of N and 3N requests (500)")
    parser.add_argument("--inprocess", metavar="SERVER", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--load-client", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--accept", default="*/*", help=argparse.SUPPRESS)
    parser.add_argument("--status", type=int, default=200, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_client:  # the fallback load generator, run in its own process
        out = asyncio.run(_client(args.load_client, args.accept, args.duration or 3.0, args.status))
        print("WRKJSON " + json.dumps(out))
        return 0
    if args.inprocess:  # one run under callgrind, started by --instructions
        _inprocess(args.root, args.inprocess, args.requests, args.count)
        return 0
    if args.instructions:
        if args.requests == ",".join(r.key for r in REQUESTS):
            args.requests = "api,page"
        counted = instructions(args)
        if args.json:
            args.json.write_text(json.dumps(counted, indent=2))
        print(instructions_report(counted))
        return 0
    if args.rounds is None:
        args.rounds = 1 if args.quick else 5
    if args.duration is None:
        args.duration = 1.0 if args.quick else 3.0
    if args.warmup is None:
        args.warmup = 1.0
    unknown = set(args.servers.split(",")) - set(SERVERS.split(","))
    unknown |= set(args.requests.split(",")) - {r.key for r in REQUESTS}
    if unknown or args.rounds < 1:
        parser.error(f"unknown servers or requests: {', '.join(sorted(unknown))}" if unknown
                     else "--rounds >= 1")
    result = run(args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(report(result))
    failed = [f"{r['request']}/{r['server']}" for r in result["rows"] if r["wrong"] or r["errors"]]
    if failed:
        print(f"FAILED: wrong answers or connection errors under load: {', '.join(failed)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
