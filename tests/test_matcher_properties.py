"""Property tests: the compiled matcher agrees with a deliberately simple reference (issue 9).

The reference tries every route in precedence order (``table.routes``) with one plain regular
expression per route, over the decoded segments joined by NUL, and takes the first full match.
The compiled matcher (a trie with a static fast path) must give the same route and params for
every generated route set and path, percent-encoded and unicode segments included.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devserver.routing import InvalidPath, Kind, Route, RouteTable, build_table
from devserver.routing.paths import split_path

SETTINGS = settings(max_examples=400, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
STATIC_WORDS = ["a", "b", "docs", "x y", "é", "ü-1", "data.json", "index"]


@st.composite
def route_ids(draw: st.DrawFn) -> str:
    depth = draw(st.integers(0, 4))
    parts = []
    for n in range(depth):
        kind = draw(st.sampled_from(["static", "static", "dyn", "dollar", "opt", "catch", "dollar2",
                                     "optcatch"]))
        parts.append({
            "static": draw(st.sampled_from(STATIC_WORDS[:-1])),
            "dyn": f"[p{n}]",
            "dollar": f"$p{n}",
            "opt": f"[[o{n}]]",
            "catch": f"[...r{n}]",
            "dollar2": "$$",
            "optcatch": f"[[...r{n}]]",
        }[kind])
    if not parts or draw(st.booleans()):
        parts.append("index")
    return "/".join(parts)


segment_text = st.one_of(st.sampled_from(STATIC_WORDS), st.text(min_size=0, max_size=4))


@st.composite
def paths(draw: st.DrawFn) -> str:
    segs = draw(st.lists(segment_text, max_size=5))
    encoded = [quote(s, safe="") if draw(st.booleans()) else quote(s, safe="$[]+") for s in segs]
    path = "/" + "/".join(encoded)
    if segs and draw(st.integers(0, 4)) == 0:
        path += "/"
    return path


def _regex(route: Route) -> re.Pattern[str]:
    out = []
    for seg in route.segments:
        if seg.kind is Kind.STATIC:
            out.append("\x00" + re.escape(seg.name))
        elif seg.kind is Kind.DYNAMIC:
            out.append("\x00([^\x00]+)")
        elif seg.kind is Kind.OPTIONAL:
            out.append("(?:\x00([^\x00]+))?")
        elif seg.kind is Kind.CATCHALL:
            out.append("((?:\x00[^\x00]+)+)")
        else:
            out.append("((?:\x00[^\x00]+)*)")
    return re.compile("".join(out), re.DOTALL)


def reference(table: RouteTable, path: str) -> tuple[str, dict[str, object]] | None:
    segs = split_path(path)
    assert not any("\x00" in s for s in segs), "the reference joins segments with NUL"
    subject = "".join("\x00" + s for s in segs)
    structural = {"catchall-not-last", "required-after-optional", "duplicate-param"}
    valid = [r for r in table.routes if not any(p.rule in structural for p in r.problems)]
    invalid = [r for r in table.routes if r not in valid]
    for route in valid + invalid:
        m = _regex(route).fullmatch(subject)
        if m is None:
            continue
        params: dict[str, object] = {}
        params_segments = [s for s in route.segments if s.kind.is_param]
        for seg, value in zip(params_segments, m.groups(), strict=True):
            if seg.kind.is_catchall:
                if value:
                    params[seg.name] = value.split("\x00")[1:]
                elif seg.kind is Kind.CATCHALL:
                    params[seg.name] = []
            elif value is not None:
                params[seg.name] = value
        return route.id, params
    return None


@SETTINGS
@given(st.lists(route_ids(), min_size=1, max_size=8, unique=True), st.lists(paths(), max_size=12))
def test_compiled_matcher_agrees_with_the_reference(ids: list[str], requests: list[str]) -> None:
    table = build_table(ids)
    for path in requests:
        if "%00" in path:
            continue  # the reference cannot tell a decoded NUL from its separator
        try:
            expected = reference(table, path)
        except InvalidPath:
            continue
        got = table.match(path)
        actual = (got.route, got.params) if got is not None else None
        assert actual == expected, (ids, path)


@SETTINGS
@given(st.lists(st.text(min_size=0, max_size=30), max_size=12))
def test_building_a_table_never_raises(names: list[str]) -> None:
    table = build_table(names)
    assert len(table.routes) <= len(set(names)) + len(names)
    for problem in table.problems:
        assert problem.message and problem.severity in ("error", "warning", "note")
    for route in table.routes:
        table.explain(route.pattern)


@SETTINGS
@given(st.lists(route_ids(), min_size=1, max_size=6, unique=True), st.randoms())
def test_listing_order_never_matters(ids: list[str], rnd: object) -> None:
    shuffled = list(ids)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    first, second = build_table(ids), build_table(shuffled)
    assert [r.id for r in first.routes] == [r.id for r in second.routes]
    assert first.problems == second.problems
