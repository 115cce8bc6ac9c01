"""Router benchmark: devserver's route table beside werkzeug, Starlette, aiohttp, falcon and sanic-routing.

Run it from the repository root::

    .venv/bin/python benchmarks/router_bench.py           # the full run (several minutes)
    .venv/bin/python benchmarks/router_bench.py --quick   # a smoke run: every check, rough timings

For each table size (10, 100, 1,000 and 10,000 routes; --quick stops at 1,000):

1. One route table is generated and spelled in each router's own syntax. Five shapes, in turn:
   a static page ``/about-N``, a static ``/users-N/me``, the dynamic route beside it
   ``/users-N/{id}`` (so precedence matters), a nested ``/orgs-N/{org}/repos/{repo}`` and a
   catch-all ``/files-N/{path...}``. Every router gets the same routes in the same order
   (static before dynamic, which first-match routers need).
2. One seeded request mix is generated: 30% static hits, 25% dynamic, 15% nested, 10% catch-all
   and 20% misses, spread evenly over the whole table, so a router that scans its routes in
   order pays for the last ones as often as for the first.
3. Every router answers every request of the mix and is checked (which route; which values, a
   catch-all's segments compared as one ``a/b`` string). A wrong answer stops the run: nobody
   is timed while doing something other than routing correctly.
4. Each router is timed with ``time.perf_counter_ns`` over many passes of the mix, in rounds that
   alternate between the routers, with the garbage collector off. The figure reported is the
   median round, in nanoseconds per match (a round's time over the requests it answered).

Each router is called through its own lookup entry point, the way its own server calls it, with
the per-request input that server would hand it prepared outside the timed loop (see each
adapter's ``note``). NOTE: the same path strings are matched on every pass, so Python has cached
their hashes: a router that looks whole paths up in a dict (devserver's static fast path, the
floor, sanic-routing's static routes) skips hashing them, which a server's fresh strings would not.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Run as a script this folder is on sys.path already; loaded by file location (the tests) it is not.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cpu_model, package_version  # noqa: E402

from devserver.routing import build_table  # noqa: E402

SIZES = (10, 100, 1_000, 10_000)
QUICK_SIZES = (10, 100, 1_000)
SEED = 20_240_601
CHECK_LINE = "correctness check passed"
KINDS = ("static", "dynamic", "nested", "catch-all", "miss")
MIX = {"static": 30, "dynamic": 25, "nested": 15, "catch-all": 10, "miss": 20}

# ---------------------------------------------------------------------------------------------
# The route table and the request mix, as plain data.


@dataclass(frozen=True, slots=True)
class Part:
    """One segment of a generated route: static text, a one-segment parameter, or a catch-all."""

    kind: str  # "static" | "param" | "rest"
    text: str  # the static text or the parameter name


@dataclass(frozen=True, slots=True)
class RouteDef:
    index: int
    shape: str
    parts: tuple[Part, ...]

    def spell(self, param: str, rest: str, lead: str = "/") -> str:
        """The route in one router's syntax: ``param``/``rest`` are format strings for a name."""
        texts = (p.text if p.kind == "static" else (param if p.kind == "param" else rest).format(p.text)
                 for p in self.parts)
        return lead + "/".join(texts)


@dataclass(frozen=True, slots=True)
class Request:
    path: str
    kind: str  # one of KINDS
    expect: int | None  # the index of the route that must answer, or None for a miss
    params: dict[str, str]  # catch-all values joined with "/"


SHAPES = ("static", "beside", "dynamic", "nested", "catch-all")


def _shape_parts(shape: str, n: int) -> tuple[Part, ...]:
    s = Part
    return {
        "static": (s("static", f"about-{n}"),),
        "beside": (s("static", f"users-{n}"), s("static", "me")),
        "dynamic": (s("static", f"users-{n}"), s("param", "id")),
        "nested": (s("static", f"orgs-{n}"), s("param", "org"), s("static", "repos"), s("param", "repo")),
        "catch-all": (s("static", f"files-{n}"), s("rest", "path")),
    }[shape]


def generate_routes(count: int) -> list[RouteDef]:
    """``count`` routes, cycling through the five shapes; group ``n`` of each shape is ``…-n``."""
    return [RouteDef(i, SHAPES[i % 5], _shape_parts(SHAPES[i % 5], i // 5)) for i in range(count)]


def generate_requests(routes: Sequence[RouteDef], count: int, seed: int) -> list[Request]:
    """A seeded mix of ``count`` requests in the proportions of ``MIX``."""
    rng = random.Random(seed)
    by_shape = {shape: [r for r in routes if r.shape == shape] for shape in SHAPES}
    groups = len(by_shape["static"])
    kinds = [kind for kind, weight in MIX.items() for _ in range(weight)]
    out = []
    for _ in range(count):
        kind = rng.choice(kinds)
        if kind == "miss":
            out.append(_miss(rng, groups))
        elif kind == "static":
            out.append(_hit(rng, rng.choice(by_shape["static"] + by_shape["beside"]), kind))
        else:
            out.append(_hit(rng, rng.choice(by_shape[kind]), kind))
    return out


def _hit(rng: random.Random, route: RouteDef, kind: str) -> Request:
    segs: list[str] = []
    params: dict[str, str] = {}
    for part in route.parts:
        if part.kind == "static":
            segs.append(part.text)
        elif part.kind == "param":
            value = f"{part.text}{rng.randrange(10_000)}"
            segs.append(value)
            params[part.text] = value
        else:
            rest = [rng.choice(("docs", "img", "v2", "src")) for _ in range(rng.randrange(1, 4))]
            rest.append(f"file{rng.randrange(1000)}.txt")
            segs.extend(rest)
            params[part.text] = "/".join(rest)
    return Request("/" + "/".join(segs), kind, route.index, params)


def _miss(rng: random.Random, groups: int) -> Request:
    n = rng.randrange(groups)
    path = rng.choice((
        f"/nope-{rng.randrange(10_000)}",  # an unknown first segment
        f"/about-{n}/extra",  # a static route with one segment too many
        f"/users-{n}/{rng.randrange(100)}/extra",  # a dynamic route with one segment too many
        f"/orgs-{n}/acme/issues/1",  # a nested route whose static part differs
        f"/about-{groups + rng.randrange(100)}",  # a static name just past the table
    ))
    return Request(path, "miss", None, {})


# ---------------------------------------------------------------------------------------------
# The routers. An adapter spells the routes, builds the router, resolves one request for the
# check, prepares the per-request input and times passes over the mix.

Answer = tuple[int, dict[str, str]] | None


class Adapter:
    """One router under test. ``timed`` must call the router's own lookup and nothing heavier."""

    name = ""
    package = ""  # the distribution whose version is reported
    note = ""
    is_router = True  # False for the reference floor, which is timed but not checked

    def build(self, routes: Sequence[RouteDef]) -> Any:
        raise NotImplementedError

    def prepare(self, router: Any, path: str) -> Any:
        return path

    def resolve(self, router: Any, arg: Any) -> Answer:
        raise NotImplementedError

    def timed(self, router: Any, args: Sequence[Any], passes: int) -> int:
        raise NotImplementedError


def _joined(params: dict[str, Any]) -> dict[str, str]:
    return {k: "/".join(v) if isinstance(v, list) else str(v) for k, v in params.items()}


class Devserver(Adapter):
    name = "devserver"
    note = ("`RouteTable.match(raw_path)`: takes the raw path, so it also percent-decodes, strips a "
            "query and tolerates one trailing slash, which the others leave to their server")

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def build(self, routes: Sequence[RouteDef]) -> Any:
        ids = [r.spell("[{}]", "[...{}]", lead="") for r in routes]
        self.index = {route_id: r.index for route_id, r in zip(ids, routes, strict=True)}
        return build_table(ids)

    def resolve(self, router: Any, arg: Any) -> Answer:
        m = router.match(arg)
        return None if m is None else (self.index[m.route], _joined(m.params))

    def timed(self, router: Any, args: Sequence[Any], passes: int) -> int:
        match = router.match
        t0 = time.perf_counter_ns()
        for _ in range(passes):
            for a in args:
                match(a)
        return time.perf_counter_ns() - t0


class Werkzeug(Adapter):
    name = "werkzeug"
    package = "werkzeug"
    note = "`Map(rules).bind(host).match(path, 'GET')`, bound once; a miss raises `NotFound`, caught"

    def build(self, routes: Sequence[RouteDef]) -> Any:
        from werkzeug.routing import Map, Rule

        rules = [Rule(r.spell("<{}>", "<path:{}>"), endpoint=r.index, methods=["GET"]) for r in routes]
        return Map(rules).bind("localhost")

    def resolve(self, router: Any, arg: Any) -> Answer:
        from werkzeug.exceptions import NotFound

        try:
            endpoint, values = router.match(arg, "GET")
        except NotFound:
            return None
        return endpoint, _joined(values)

    def timed(self, router: Any, args: Sequence[Any], passes: int) -> int:
        from werkzeug.exceptions import NotFound

        match = router.match
        t0 = time.perf_counter_ns()
        for _ in range(passes):
            for a in args:
                try:
                    match(a, "GET")
                except NotFound:
                    pass
        return time.perf_counter_ns() - t0


class Starlette(Adapter):
    name = "starlette"
    package = "starlette"
    note = ("the loop of `Router.app`: `route.matches(scope)` for each route until `Match.FULL` "
            "(remembering the first `PARTIAL`); the scope dict is made outside the loop, and the "
            "`redirect_slashes` second pass that follows a miss is left out")

    def build(self, routes: Sequence[RouteDef]) -> Any:
        from starlette.routing import Route, Router

        def endpoint(request: Any) -> Any:  # never called
            raise AssertionError

        return Router(routes=[Route(r.spell("{{{}}}", "{{{}:path}}"), endpoint, name=str(r.index))
                              for r in routes])

    def prepare(self, router: Any, path: str) -> Any:
        return {"type": "http", "path": path, "root_path": "", "method": "GET", "query_string": b""}

    def resolve(self, router: Any, arg: Any) -> Answer:
        from starlette.routing import Match

        for route in router.routes:
            match, child = route.matches(arg)
            if match is Match.FULL:
                return int(route.name), _joined(child["path_params"])
        return None

    def timed(self, router: Any, args: Sequence[Any], passes: int) -> int:
        from starlette.routing import Match

        routes = router.routes
        full, partial_match = Match.FULL, Match.PARTIAL
        t0 = time.perf_counter_ns()
        for _ in range(passes):
            for scope in args:
                partial = None
                for route in routes:
                    match, child = route.matches(scope)
                    if match is full:
                        break
                    elif match is partial_match and partial is None:
                        partial = route
        return time.perf_counter_ns() - t0


class Aiohttp(Adapter):
    name = "aiohttp"
    package = "aiohttp"
    note = ("`UrlDispatcher.resolve(request)`, a coroutine driven with `send(None)` instead of an "
            "event loop; the request stand-in carries a prebuilt `yarl.URL`, whose decoded path is "
            "cached after the first pass; a miss returns a `MatchInfoError`")

    def __init__(self) -> None:
        self.index: dict[Any, int] = {}

    def build(self, routes: Sequence[RouteDef]) -> Any:
        from aiohttp import web

        async def handler(request: Any) -> Any:  # never called
            raise AssertionError

        router = web.UrlDispatcher()
        self.index = {}
        for r in routes:
            resource = router.add_resource(r.spell("{{{}}}", "{{{}:.+}}"))
            resource.add_route("GET", handler)
            self.index[resource] = r.index
        router.freeze()
        return router

    def prepare(self, router: Any, path: str) -> Any:
        from yarl import URL

        return SimpleNamespace(rel_url=URL(path), method="GET")

    def resolve(self, router: Any, arg: Any) -> Answer:
        info = _drive(router.resolve(arg))
        if info.http_exception is not None:
            return None
        return self.index[info.route.resource], _joined(dict(info))

    def timed(self, router: Any, args: Sequence[Any], passes: int) -> int:
        resolve = router.resolve
        t0 = time.perf_counter_ns()
        for _ in range(passes):
            for a in args:
                coro = resolve(a)
                try:
                    coro.send(None)
                except StopIteration:
                    pass
        return time.perf_counter_ns() - t0


def _drive(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never waits on anything, without an event loop."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("the coroutine suspended")


class Falcon(Adapter):
    name = "falcon"
    package = "falcon"
    note = ("`CompiledRouter.find(path, req=req)`, as `falcon.App` calls it (the request is ignored "
            "by the router), compiled before timing (falcon compiles on the first find)")

    def build(self, routes: Sequence[RouteDef]) -> Any:
        from falcon.routing import CompiledRouter

        router = CompiledRouter()
        for r in routes:
            router.add_route(r.spell("{{{}}}", "{{{}:path}}"), _Resource(r.index))
        router.find("/")
        return router

    def resolve(self, router: Any, arg: Any) -> Answer:
        found = router.find(arg)
        return None if found is None else (found[0].index, _joined(found[2]))

    def timed(self, router: Any, args: Sequence[Any], passes: int) -> int:
        find = router.find
        req = _FALCON_REQ
        t0 = time.perf_counter_ns()
        for _ in range(passes):
            for a in args:
                find(a, req=req)
        return time.perf_counter_ns() - t0


# falcon.App passes the request along (`self._router_search(path, req=req)`); CompiledRouter
# ignores it, so a stand-in will do.
_FALCON_REQ = SimpleNamespace(method="GET")


class _Resource:
    def __init__(self, index: int) -> None:
        self.index = index

    def on_get(self, req: Any, resp: Any) -> None:  # never called
        raise AssertionError


class SanicRouting(Adapter):
    name = "sanic-routing"
    package = "sanic-routing"
    note = ("`Router.get(path, method, host)` as the sanic-routing README defines it (`resolve`), "
            "after `finalize()`; Sanic's own router puts an `lru_cache` in front, left out here so "
            "that routing, not a cache of the 1,000 paths, is timed")

    def build(self, routes: Sequence[RouteDef]) -> Any:
        from sanic_routing import BaseRouter

        class Router(BaseRouter):  # type: ignore[misc]
            def get(self, path: str, method: str, host: str | None) -> Any:
                return self.resolve(path=path, method=method, extra={"host": host} if host else None)

        router = Router()
        for r in routes:
            router.add(r.spell("<{}>", "<{}:path>"), _Handler(r.index), methods=["GET"])
        router.finalize()
        return router

    def resolve(self, router: Any, arg: Any) -> Answer:
        from sanic_routing.exceptions import NotFound

        try:
            route, handler, params = router.get(arg, "GET", None)
        except NotFound:
            return None
        return handler.index, _joined(params)

    def timed(self, router: Any, args: Sequence[Any], passes: int) -> int:
        from sanic_routing.exceptions import NotFound

        get = router.get
        t0 = time.perf_counter_ns()
        for _ in range(passes):
            for a in args:
                try:
                    get(a, "GET", None)
                except NotFound:
                    pass
        return time.perf_counter_ns() - t0


class _Handler:
    def __init__(self, index: int) -> None:
        self.index = index
        self.__name__ = f"handler{index}"

    def __call__(self, *args: Any) -> Any:  # never called
        raise AssertionError


class DictFloor(Adapter):
    name = "dict.get (floor)"
    note = ("not a router: one `dict.get(path)` over the static paths, the least any lookup of "
            "a whole path can cost here; it answers nothing dynamic and is not checked")
    is_router = False

    def build(self, routes: Sequence[RouteDef]) -> Any:
        return {r.spell("", ""): r.index for r in routes if all(p.kind == "static" for p in r.parts)}

    def timed(self, router: Any, args: Sequence[Any], passes: int) -> int:
        get = router.get
        t0 = time.perf_counter_ns()
        for _ in range(passes):
            for a in args:
                get(a)
        return time.perf_counter_ns() - t0


ADAPTERS: tuple[Adapter, ...] = (Devserver(), Werkzeug(), Starlette(), Aiohttp(), Falcon(),
                                 SanicRouting(), DictFloor())


# ---------------------------------------------------------------------------------------------
# Checking and timing.


def check(adapter: Adapter, router: Any, requests: Sequence[Request], args: Sequence[Any]) -> int:
    """Stop the run if ``adapter`` answers any request of the mix wrongly; else the count checked."""
    wrong = []
    for req, arg in zip(requests, args, strict=True):
        got = adapter.resolve(router, arg)
        want = None if req.expect is None else (req.expect, req.params)
        if got != want:
            wrong.append(f"  {req.path}: expected {want}, got {got}")
    if wrong:
        raise SystemExit(f"{adapter.name} answered {len(wrong)} of {len(requests)} requests wrongly:\n"
                         + "\n".join(wrong[:10]))
    return len(requests)


@dataclass
class Trial:
    """One router at one size, or one kind of request of the mix: what to time, and the rounds."""

    adapter: Adapter
    router: Any
    args: list[Any]
    passes: int = 1
    rounds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.rounds)


def calibrate(trial: Trial, round_ns: int) -> None:
    """Choose the passes per round so a round lasts about ``round_ns`` (at least one pass)."""
    passes = 1
    while True:
        took = trial.adapter.timed(trial.router, trial.args, passes)
        if took * 4 >= round_ns or passes >= 1 << 20:
            trial.passes = max(1, round(passes * round_ns / max(took, 1)))
            return
        passes *= 4


def time_rounds(trials: Sequence[Trial], rounds: int, round_ns: int) -> None:
    """Time ``rounds`` rounds, each trial in turn within a round; record ns per match."""
    print(f"timing {len(trials)} trials, {rounds} rounds", file=sys.stderr)
    for trial in trials:
        calibrate(trial, round_ns)
    gc.collect()
    gc.disable()
    try:
        for _ in range(rounds):
            for trial in trials:
                took = trial.adapter.timed(trial.router, trial.args, trial.passes)
                trial.rounds.append(took / (trial.passes * len(trial.args)))
    finally:
        gc.enable()


def by_kind(trial: Trial, requests: Sequence[Request]) -> list[Trial]:
    """The trial split by kind of request, in the order of ``KINDS``."""
    return [Trial(trial.adapter, trial.router,
                  [a for r, a in zip(requests, trial.args, strict=True) if r.kind == kind])
            for kind in KINDS]


def build_ms(adapter: Adapter, routes: Sequence[RouteDef]) -> tuple[Any, float]:
    t0 = time.perf_counter_ns()
    router = adapter.build(routes)
    return router, (time.perf_counter_ns() - t0) / 1e6


def devserver_build_ms(size: int, repeats: int) -> list[float]:
    """Wall time of ``build_table`` on ``size`` generated route ids, ``repeats`` times in this
    process (warm: the routing package's caches of segment spellings hold the table's already)."""
    ids = [r.spell("[{}]", "[...{}]", lead="") for r in generate_routes(size)]
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter_ns()
        build_table(ids)
        times.append((time.perf_counter_ns() - t0) / 1e6)
    return times


_COLD_BUILD = """
import gc, sys, time
sys.path[:0] = [{here!r}, {repo!r}]
from router_bench import generate_routes
from devserver.routing import build_table
ids = [r.spell("[{{}}]", "[...{{}}]", lead="") for r in generate_routes({size})]
gc.collect()
t0 = time.perf_counter_ns()
build_table(ids)
print((time.perf_counter_ns() - t0) / 1e6)
"""


def devserver_cold_build_ms(size: int, repeats: int) -> list[float]:
    """The first ``build_table`` in a fresh process (as a worker's cold start makes it: no cache
    warm), ``repeats`` processes; imports and the ids are made before the clock starts."""
    here = Path(__file__).resolve().parent
    code = _COLD_BUILD.format(here=str(here), repo=str(here.parent), size=size)
    return [float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                 text=True).stdout.strip().splitlines()[-1])
            for _ in range(repeats)]


# ---------------------------------------------------------------------------------------------
# Reporting.


def fmt_ns(ns: float) -> str:
    if ns >= 1_000_000:
        return f"{ns / 1e6:,.1f} ms"
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


def machine() -> str:
    versions = [f"{a.package} {package_version(a.package)}" for a in ADAPTERS if a.package]
    load = ", load average after the run " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{cpu_model()}, nproc {os.cpu_count()}{load}; Python {platform.python_version()} "
            f"({platform.python_implementation()}); " + ", ".join(versions))


def report(args: argparse.Namespace, results: dict[str, dict[int, Trial]], builds: dict[str, float],
           kinds: dict[str, list[Trial]], dev_build: list[float], cold_build: list[float],
           checked: int, load_before: tuple[float, float, float]) -> None:
    sizes = args.sizes
    last = sizes[-1]
    print(f"\n## Router benchmark{' (--quick: a smoke run, rough timings)' if args.quick else ''}\n")
    mix = ", ".join(f"{MIX[k]}% {k}" for k in KINDS)
    print(f"Median ns per match over the mix of {args.requests} requests ({mix}); "
          f"{args.rounds} rounds of about {args.round_ms:g} ms each, routers alternating; seed {SEED}. "
          f"Growth is the time at {last:,} routes over the time at {sizes[0]:,}. "
          f"Build is one build of the {last:,}-route router (for falcon, including its compile).\n")
    print("| router | " + " | ".join(f"{n:,} routes" for n in sizes) + f" | growth | build ({last:,}) |")
    print("|---|" + "---:|" * (len(sizes) + 2))
    for name, per_size in results.items():
        medians = [per_size[n].median for n in sizes]
        print(f"| {name} | " + " | ".join(fmt_ns(m) for m in medians)
              + f" | ×{medians[-1] / medians[0]:.2f} | {builds[name]:,.0f} ms |")
    print(f"\n### By kind of request, {last:,} routes (median ns per match)\n")
    print("| router | " + " | ".join(KINDS) + " |")
    print("|---|" + "---:|" * len(KINDS))
    for name, trials in kinds.items():
        print(f"| {name} | " + " | ".join(fmt_ns(t.median) for t in trials) + " |")
    print(f"\ndevserver `build_table` of {last:,} route ids: median {statistics.median(dev_build):,.0f} ms "
          f"(min {min(dev_build):,.0f}, max {max(dev_build):,.0f}, {len(dev_build)} builds in one process); "
          f"the first build in a fresh process: median {statistics.median(cold_build):,.0f} ms "
          f"(min {min(cold_build):,.0f}, max {max(cold_build):,.0f}, {len(cold_build)} processes)")
    print(f"\n{CHECK_LINE}: {checked:,} answers checked before timing\n")
    print("### How each router is called\n")
    for a in ADAPTERS:
        if a.name in results:
            print(f"- **{a.name}**: {a.note}")
    print(f"\nMachine: {machine()} (load average before the run: "
          + " ".join(f"{x:.2f}" for x in load_before) + ")")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: every check, rough timings")
    parser.add_argument("--sizes", type=lambda s: tuple(int(x) for x in s.split(",")),
                        help="comma-separated table sizes (default 10,100,1000,10000)")
    parser.add_argument("--only", default="", help="comma-separated router names")
    parser.add_argument("--requests", type=int, help="requests in the mix (default 1000)")
    parser.add_argument("--rounds", type=int, help="timed rounds (default 9)")
    parser.add_argument("--round-ms", type=float, help="about how long one round lasts (default 60)")
    args = parser.parse_args(argv)
    args.sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    args.requests = args.requests or (200 if args.quick else 1000)
    args.rounds = args.rounds or (3 if args.quick else 9)
    args.round_ms = args.round_ms or (2.0 if args.quick else 60.0)
    only = set(filter(None, args.only.split(",")))
    adapters = [a for a in ADAPTERS if not only or a.name in only]
    round_ns = int(args.round_ms * 1e6)

    load_before = os.getloadavg()
    results: dict[str, dict[int, Trial]] = {a.name: {} for a in adapters}
    builds: dict[str, float] = {}
    kinds: dict[str, list[Trial]] = {}
    checked = 0
    for size in args.sizes:
        routes = generate_routes(size)
        requests = generate_requests(routes, args.requests, SEED + size)
        for a in adapters:
            router, builds[a.name] = build_ms(a, routes)
            prepared = [a.prepare(router, r.path) for r in requests]
            if a.is_router:
                checked += check(a, router, requests, prepared)
            results[a.name][size] = Trial(a, router, prepared)
            if size == args.sizes[-1]:
                kinds[a.name] = by_kind(results[a.name][size], requests)
        print(f"{size:>6,} routes: built and checked", file=sys.stderr)
    # NOTE: every router at every size is timed in the same rounds, so a slow drift of the
    # machine (other jobs) lands on all of them alike, growth included.
    time_rounds([t for per_size in results.values() for t in per_size.values()], args.rounds, round_ns)
    time_rounds([t for per_kind in kinds.values() for t in per_kind], max(3, args.rounds // 3),
                round_ns // 5)
    dev_build = devserver_build_ms(args.sizes[-1], 3 if args.quick else 7)
    cold_build = devserver_cold_build_ms(args.sizes[-1], 1 if args.quick else 5)
    report(args, results, builds, kinds, dev_build, cold_build, checked, load_before)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
