"""The compiled matcher: a segment trie walked in precedence order, plus a static fast path.

Matching cost depends on the depth of the path, not on the number of routes: static children
are one dict lookup, and each node has at most one child of each parameter kind (routes of the
same shape share the node; their names are applied from the winning route at the end).

The walk visits a node's children in precedence order (route ends here, static, dynamic,
optional, catch-all, optional catch-all) and backtracks when a branch cannot finish, which makes
the first full match the same route that "first in sorted order that matches" would give
(DESIGN §2; a property test compares the two).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .routes import Route
from .segments import Kind

__all__ = ["Match", "Matcher", "match_segments"]

_Value = str | list[str] | None  # None: an optional parameter that matched nothing


@dataclass(frozen=True, slots=True)
class Match:
    """A matched route: ``route`` is its id (``"users/[id]"``), ``params`` the decoded values."""

    route: str
    params: dict[str, str | list[str]]
    spec: Route


class _Node:
    __slots__ = ("end", "static", "dynamic", "optional", "catchall", "optcatch")

    def __init__(self) -> None:
        self.end: Route | None = None
        self.static: dict[str, _Node] = {}
        self.dynamic: _Node | None = None
        self.optional: _Node | None = None
        self.catchall: Route | None = None
        self.optcatch: Route | None = None


class Matcher:
    """Compiled from routes already sorted by rank; immutable once built."""

    __slots__ = ("_root", "_static", "_fallback")

    def __init__(self, routes: Sequence[Route]) -> None:
        self._root = _Node()
        # PERF: a whole static path is one dict lookup; it always wins, since a static segment
        # outranks every parameter at the first position where two routes differ.
        self._static: dict[str, Route] = {}
        # Routes whose file name breaks a rule (catch-all not last, ...) are not in the trie, but
        # a request they would match gets their 500, so the user learns why (DESIGN §2).
        self._fallback: list[Route] = []
        for route in routes:  # in rank order: the first route to claim a slot keeps it
            if _structurally_valid(route):
                self._insert(route)
            else:
                self._fallback.append(route)

    def _insert(self, route: Route) -> None:
        node = self._root
        segments = route.segments
        for seg in segments:
            kind = seg.kind
            if kind is Kind.STATIC:
                child = node.static.get(seg.name)
                if child is None:
                    child = node.static[seg.name] = _Node()
                node = child
            elif kind is Kind.DYNAMIC:
                if node.dynamic is None:
                    node.dynamic = _Node()
                node = node.dynamic
            elif kind is Kind.OPTIONAL:
                if node.optional is None:
                    node.optional = _Node()
                node = node.optional
            elif kind is Kind.CATCHALL:
                node.catchall = node.catchall or route
                return
            else:
                node.optcatch = node.optcatch or route
                return
        if node.end is None:
            node.end = route
        if all(s.kind is Kind.STATIC for s in segments):
            path = "/" + "/".join(s.name for s in segments)
            for key in (path, path + "/") if segments else ("/",):
                self._static.setdefault(key, route)

    def static_lookup(self, raw_path: str) -> Route | None:
        """The route for a raw path that needs no decoding, when a static route has it."""
        return self._static.get(raw_path)

    def lookup(self, segs: list[str]) -> tuple[Route, list[_Value]] | None:
        """The winning route for decoded segments, with its parameter values in order."""
        found = _walk(self._root, segs, 0, len(segs), [])
        if found is not None:
            return found
        for route in self._fallback:
            params = match_segments(route, segs)
            if params is not None:
                return route, [params.get(s.name) for s in route.segments if s.kind.is_param]
        return None


def _structurally_valid(route: Route) -> bool:
    # NOTE: conflicts between two valid routes keep both in the trie (the first claims the slot
    # and both carry the error); only a route that is invalid on its own is matched apart.
    return not any(p.rule in _STRUCTURAL for p in route.problems)


_STRUCTURAL = frozenset({"catchall-not-last", "required-after-optional", "duplicate-param"})


def _walk(node: _Node, segs: list[str], i: int, n: int,
          vals: list[_Value]) -> tuple[Route, list[_Value]] | None:
    if i == n:
        if node.end is not None:
            return node.end, vals
        if node.optional is not None:
            found = _walk(node.optional, segs, i, n, [*vals, None])
            if found is not None:
                return found
        if node.optcatch is not None:
            return node.optcatch, [*vals, None]
        return None
    seg = segs[i]
    child = node.static.get(seg)
    if child is not None:
        found = _walk(child, segs, i + 1, n, vals)
        if found is not None:
            return found
    if not seg:  # an empty segment is never a value
        return None
    if node.dynamic is not None:
        found = _walk(node.dynamic, segs, i + 1, n, [*vals, seg])
        if found is not None:
            return found
    if node.optional is not None:
        found = _walk(node.optional, segs, i + 1, n, [*vals, seg])
        if found is not None:
            return found
    if node.catchall is not None or node.optcatch is not None:
        rest = segs[i:]
        if "" not in rest:
            route = node.catchall if node.catchall is not None else node.optcatch
            assert route is not None
            return route, [*vals, rest]
    return None


def bind(route: Route, values: Iterable[_Value]) -> dict[str, str | list[str]]:
    """Name the positional values after the winning route's parameters; absent optionals drop out."""
    names = (s.name for s in route.segments if s.kind.is_param)
    return {name: value for name, value in zip(names, values, strict=False) if value is not None}


def match_segments(route: Route, segs: Sequence[str]) -> dict[str, str | list[str]] | None:
    """Match one route alone against decoded segments, trying every split (a plain reference).

    Used for routes outside the trie and as the simple reference matcher in tests.
    """
    segments = route.segments

    def go(si: int, pi: int, params: dict[str, str | list[str]]) -> dict[str, str | list[str]] | None:
        if si == len(segments):
            return params if pi == len(segs) else None
        seg = segments[si]
        kind = seg.kind
        if kind is Kind.STATIC:
            return go(si + 1, pi + 1, params) if pi < len(segs) and segs[pi] == seg.name else None
        if kind in (Kind.DYNAMIC, Kind.OPTIONAL) and pi < len(segs) and segs[pi]:
            found = go(si + 1, pi + 1, {**params, seg.name: segs[pi]})
            if found is not None or kind is Kind.DYNAMIC:
                return found
        if kind is Kind.DYNAMIC:
            return None
        if kind is Kind.OPTIONAL:
            return go(si + 1, pi, params)
        least = 1 if kind is Kind.CATCHALL else 0
        for end in range(len(segs), pi + least - 1, -1):  # greedy: longest first
            taken = list(segs[pi:end])
            if "" in taken:
                continue
            found = go(si + 1, end, {**params, seg.name: taken} if taken else params)
            if found is not None:
                return found
        return None

    return go(0, 0, {})
