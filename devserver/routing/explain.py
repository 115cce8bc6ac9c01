"""Why a path goes where it goes: the winner, its params, and why every other route lost.

The 404 page, ``devserver match``, the dashboard's URL tester and ``/__routes/match`` all show
this. It walks every route (in rank order) on purpose: it is a diagnosis, not the hot path.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from .matcher import match_segments
from .routes import Route
from .segments import Kind, Segment

__all__ = ["Candidate", "Explanation", "Outcome", "explain_path"]

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
        }


def explain_path(routes: Sequence[Route], winner: Route | None, segs: Sequence[str], *,
                 method: str, path: str,
                 methods: Mapping[str, frozenset[str]] | None = None) -> Explanation:
    """Explain the outcome of ``winner`` (from the compiled matcher) against every route."""
    candidates = tuple(_candidate(r, rank, winner, segs) for rank, r in enumerate(routes, start=1))
    if winner is None:
        return Explanation(method, path, 404, f"no route matches {path}", candidates=candidates,
                           suggestions=_suggest(routes, segs))
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


def _candidate(route: Route, rank: int, winner: Route | None, segs: Sequence[str]) -> Candidate:
    def make(outcome: Outcome, reason: str, params: dict[str, str | list[str]] | None = None,
             depth: int = 0) -> Candidate:
        return Candidate(rank, route.id, route.pattern, outcome, reason, params, depth)

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


def _suggest(routes: Sequence[Route], segs: Sequence[str]) -> tuple[str, ...]:
    """difflib's "did you mean" over the static routes, for a 404."""
    statics = {r.pattern: r for r in routes if all(s.kind is Kind.STATIC for s in r.segments)}
    wanted = "/" + "/".join(segs)
    return tuple(difflib.get_close_matches(wanted, list(statics), n=3, cutoff=0.6))
