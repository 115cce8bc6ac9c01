"""Why a path goes where it goes: the winner, its params, and why every other route lost.

``devserver match``, the dashboard's URL tester and ``/__routes/match`` show every route, in rank
order (:func:`explain_path`): a diagnosis, not the hot path, but still cheap per route, since most
routes lose on their first segment and say so without being matched.

A dev 404 shows only the routes that came closest (:func:`explain_miss`). It runs on the event
loop for every miss (a browser's favicon, a test polling for a new route), so its cost must not
grow with the app: at 10,000 routes the full explanation took 0.2–0.4 s, during which the server
answered nothing. It looks at the routes whose first segment can take the path's first segment
(an index per table, built on the first miss) and a bounded number of the others.
"""

from __future__ import annotations

import difflib
import weakref
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from .matcher import match_segments
from .routes import Route
from .segments import Kind, Segment

__all__ = ["Candidate", "Explanation", "MISS_CANDIDATES", "Outcome", "explain_miss", "explain_path"]

# PERF: an enum member read through its class costs a few hundred ns; these loops run per route.
_STATIC = Kind.STATIC

# How many routes a dev 404 lists: every route of a small app, the closest ones of a big one.
MISS_CANDIDATES = 20
# How many static routes "did you mean" compares the path with, at most (see _Statics).
SUGGESTION_POOL = 120

Outcome = Literal["winner", "outranked", "no-match", "invalid", "wrong-method"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One route considered for a path, and what became of it."""

    rank: int
    route: str
    pattern: str
    outcome: Outcome
    reason: str
    params: dict[str, str | list[str]] | None = None
    # How many path segments the route accepted before it failed: the closest come first on 404.
    depth: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "rank": self.rank,
            "route": self.route,
            "pattern": self.pattern,
            "outcome": self.outcome,
            "reason": self.reason,
            "params": self.params,
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    """The full answer for one method and path."""

    method: str
    path: str
    status: int
    summary: str
    winner: str | None = None
    params: dict[str, str | list[str]] = field(default_factory=dict)
    candidates: tuple[Candidate, ...] = ()
    suggestions: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()
    # Routes of the table not listed in ``candidates`` (a 404 lists only the closest).
    omitted: int = 0

    def closest(self, limit: int = 5) -> list[Candidate]:
        """The losing candidates that came closest (most segments accepted), for a 404 page."""
        losers = [c for c in self.candidates if c.outcome != "winner"]
        return sorted(losers, key=lambda c: (-c.depth, c.rank))[:limit]

    def as_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "summary": self.summary,
            "winner": self.winner,
            "params": self.params,
            "allowed": list(self.allowed),
            "candidates": [c.as_dict() for c in self.candidates],
            "suggestions": list(self.suggestions),
            "omitted": self.omitted,
        }


def explain_path(routes: Sequence[Route], winner: Route | None, segs: Sequence[str], *,
                 method: str, path: str,
                 methods: Mapping[str, frozenset[str]] | None = None) -> Explanation:
    """Explain the outcome of ``winner`` (from the compiled matcher) against every route."""
    candidates = tuple(_candidate(r, rank, winner, segs) for rank, r in enumerate(routes, start=1))
    if winner is None:
        return Explanation(method, path, 404, f"no route matches {path}", candidates=candidates,
                           suggestions=_Statics(routes).suggest(segs))
    params = match_segments(winner, segs) or {}
    if winner.errors:
        return Explanation(method, path, 500, winner.errors[0].message, winner.id, params,
                           candidates)
    exported = methods.get(winner.id) if methods is not None else None
    allowed = _allowed(exported) if exported is not None else ()
    if exported is not None and method.upper() not in allowed:
        reason = f"method {method.upper()} not exported: 405"
        marked = tuple(
            Candidate(c.rank, c.route, c.pattern, "wrong-method", reason, c.params, c.depth)
            if c.route == winner.id else c for c in candidates)
        return Explanation(method, path, 405, f"{winner.id} matches, but {reason}", winner.id,
                           params, marked, allowed=allowed)
    return Explanation(method, path, 200, f"{winner.id} answers {path}", winner.id, params,
                       candidates, allowed=allowed)


def _allowed(exported: frozenset[str]) -> tuple[str, ...]:
    """The methods a route answers: those it exports, HEAD when it has GET, and OPTIONS (DESIGN §3)."""
    allowed = {m.upper() for m in exported} | {"OPTIONS"}
    if "GET" in allowed:
        allowed.add("HEAD")
    return tuple(sorted(allowed))


class TableLike(Protocol):
    """What :func:`explain_miss` needs of a route table (``RouteTable``; weakly referenceable)."""

    @property
    def routes(self) -> Sequence[Route]: ...


def explain_miss(table: TableLike, segs: Sequence[str], *, method: str, path: str,
                 limit: int = MISS_CANDIDATES) -> Explanation:
    """The 404 explanation of a path no route matches, listing the ``limit`` closest routes.

    The routes listed are the ones :meth:`Explanation.closest` would pick from the full
    explanation (most segments accepted, then rank), listed in rank order; ``omitted`` counts the
    rest. Its cost depends on how many routes share the path's first segment, not on the table.
    """
    routes = table.routes
    index = _index_of(table)
    near = ({*index.by_first.get(segs[0], ()), *index.loose} if segs else set())
    # Every route outside ``near`` starts with a static segment other than the path's first, so
    # it accepts nothing (depth 0): among those, the first in rank order come closest.
    seen = {i: _candidate(routes[i], i + 1, None, segs) for i in near}
    extra = 0
    for i in range(len(routes)):
        if extra == limit:
            break
        if i not in seen:
            seen[i] = _candidate(routes[i], i + 1, None, segs)
            extra += 1
    closest = sorted(seen.values(), key=_closeness)[:limit]
    closest.sort(key=_rank)
    return Explanation(method, path, 404, f"no route matches {path}", candidates=tuple(closest),
                       suggestions=index.statics.suggest(segs), omitted=len(routes) - len(closest))


def _closeness(c: Candidate) -> tuple[int, int]:
    return -c.depth, c.rank


def _rank(c: Candidate) -> int:
    return c.rank


class _MissIndex:
    """A table's routes by their first segment, and its static routes for "did you mean"."""

    __slots__ = ("by_first", "loose", "statics")

    def __init__(self, routes: Sequence[Route]) -> None:
        self.by_first: dict[str, list[int]] = {}  # a static first segment -> route positions
        self.loose: list[int] = []  # the routes whose first segment is not static (or none)
        static = _STATIC
        for i, route in enumerate(routes):
            segments = route.segments
            if segments and segments[0].kind is static:
                self.by_first.setdefault(segments[0].name, []).append(i)
            else:
                self.loose.append(i)
        self.statics = _Statics(routes)


# One index per table, built on the table's first 404; it goes when the table goes (a reload).
_INDEXES: weakref.WeakKeyDictionary[TableLike, _MissIndex] = weakref.WeakKeyDictionary()


def _index_of(table: TableLike) -> _MissIndex:
    index = _INDEXES.get(table)
    if index is None:
        index = _INDEXES[table] = _MissIndex(table.routes)
    return index


def _candidate(route: Route, rank: int, winner: Route | None, segs: Sequence[str]) -> Candidate:
    def make(outcome: Outcome, reason: str, params: dict[str, str | list[str]] | None = None,
             depth: int = 0) -> Candidate:
        return Candidate(rank, route.id, route.pattern, outcome, reason, params, depth)

    segments = route.segments
    if segs and segments and segments[0].kind is _STATIC and segments[0].name != segs[0]:
        # PERF: what most routes of a big table say (what _why_not would find, without matching).
        return make("no-match", f"static `{segments[0].name}` ≠ `{segs[0]}`")
    params = match_segments(route, segs)
    if route is winner:
        return make("winner", "matches", params, len(segs) + 1)
    structural = [p for p in route.errors if p.rule != "malformed-segment"]
    if structural and params is not None:
        return make("invalid", f"not served: {structural[0].message}", params, len(segs))
    if params is not None:
        by = winner.id if winner is not None else "another route"
        return make("outranked", f"outranked by {by}", params, len(segs))
    reason, depth = _why_not(route, segs)
    return make("no-match", reason, None, depth)


def _why_not(route: Route, segs: Sequence[str]) -> tuple[str, int]:
    """Say in words where a route stops matching the path (first failing segment)."""
    segments = route.segments
    pi = 0
    for si, seg in enumerate(segments):
        kind = seg.kind
        if kind.is_catchall:
            rest = list(segs[pi:])
            if "" in rest:
                return f"empty segment in the part `{seg.text}` would take", pi
            if kind is Kind.CATCHALL and not rest:
                return _needs(segments[si:]), pi
            return f"`{seg.text}` cannot take `{'/'.join(rest)}` here", pi
        if pi >= len(segs):
            if kind.is_optional:
                continue
            return _needs(segments[si:]), pi
        value = segs[pi]
        if kind is Kind.STATIC and value != seg.name:
            return f"static `{seg.name}` ≠ `{value}`", pi
        if kind is not Kind.STATIC and value == "":
            return f"empty segment cannot be the value of `{seg.text}`", pi
        pi += 1
    extra = list(segs[pi:])
    count = "one extra segment" if len(extra) == 1 else f"{len(extra)} extra segments"
    return f"path has {count}: `/{'/'.join(extra)}`", pi


def _needs(missing: Sequence[Segment]) -> str:
    """How many more path segments the unmatched tail of a route needs: "needs 2 more segments"."""
    needed = sum(1 for s in missing if not s.kind.is_optional)
    more = "one more segment" if needed == 1 else f"{needed} more segments"
    at_least = "at least " if any(s.kind.is_catchall for s in missing) else ""
    return f"needs {at_least}{more}"


class _Statics:
    """The static routes' patterns, for difflib's "did you mean" on a 404.

    difflib compares the path with each pattern (tens of µs each), so a big app's patterns are not
    all compared, only a pool of about ``SUGGESTION_POOL``: those that share the longest start
    with the path, or with the path cut short by one, two or more characters (a typo leaves the
    text before it intact; in sorted order the patterns that start with a text come together),
    and likewise the longest end, read backwards. An app with up to ``SUGGESTION_POOL`` static
    routes has every one compared.
    """

    __slots__ = ("forward", "backward")

    def __init__(self, routes: Sequence[Route]) -> None:
        static = _STATIC
        patterns = {"/" + "/".join([s.name for s in r.segments]) for r in routes
                    if all([s.kind is static for s in r.segments])}
        self.forward = sorted(patterns)
        self.backward = sorted(p[::-1] for p in patterns)

    def suggest(self, segs: Sequence[str]) -> tuple[str, ...]:
        wanted = "/" + "/".join(segs)
        pool: list[str] = self.forward
        if len(pool) > SUGGESTION_POOL:
            pool = sorted({*_near(self.forward, wanted),
                           *(p[::-1] for p in _near(self.backward, wanted[::-1]))})
        return tuple(difflib.get_close_matches(wanted, pool, n=3, cutoff=0.6))


def _near(patterns: list[str], wanted: str) -> list[str]:
    """The patterns of sorted ``patterns`` that share the longest starts with ``wanted``."""
    size = len(wanted)
    cuts = sorted({size, size - 1, size - 2, size - 3, (2 * size) // 3, size // 2}, reverse=True)
    window = SUGGESTION_POOL // (4 * len(cuts)) + 1
    at = bisect_left(patterns, wanted)
    near = patterns[max(0, at - window):at + window]
    for cut in cuts[1:]:
        if cut > 1:
            at = bisect_left(patterns, wanted[:cut])
            near += patterns[at:at + window]
    return near
