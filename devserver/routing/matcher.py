"""The compiled matcher: a segment trie, matched by Python code generated from it.

Matching cost depends on the depth of the path, not on the number of routes: static children
are one dict lookup (or a few string compares), and each node has at most one child of each
parameter kind (routes of the same shape share the node; their names are applied from the
winning route at the end).

Children are tried in precedence order (route ends here, static, dynamic, optional, catch-all,
optional catch-all), backtracking when a branch cannot finish, which makes the first full match
the same route that "first in sorted order that matches" would give (DESIGN §2; a property test
compares the two). The walk that does this is ``_walk``; :meth:`Matcher.lookup` uses it.

PERF: ``Matcher.match`` is generated code (:mod:`.codegen`): a whole static path is one dict
lookup; any other path is split once, its first part picks the root's child by one dict lookup,
and that child's subtree is matched by straight-line code made for it (on first use) with the
same backtracking, unrolled (a small table's whole trie is inlined in ``match``). Paths to
percent-decode, with a query, a trailing slash or an empty part, and subtrees under an optional
segment, are left to the walk (``_slow``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .codegen import node_source, top_function
from .paths import normalize_raw, split_path
from .result import Match
from .routes import Route
from .segments import Kind

__all__ = ["Match", "Matcher", "TrieKey", "match_segments", "structurally_valid", "trie_key"]

_Value = str | list[str] | None  # None: an optional parameter that matched nothing


# PERF: an enum member read through its class (`Kind.STATIC`) costs a few hundred ns on 3.11;
# the build reads them once per segment, so they are module constants here.
_STATIC, _DYNAMIC, _OPTIONAL, _CATCHALL = Kind.STATIC, Kind.DYNAMIC, Kind.OPTIONAL, Kind.CATCHALL
_OPTCATCH = Kind.OPTIONAL_CATCHALL


class _Node:
    """One node of the trie: the routes that end here, and the children by kind of segment.

    Never changed once the matcher that made it is built (:meth:`Matcher.updated` copies the
    nodes it changes), but for ``fn`` and ``k``: its generated code and the values that code
    reads, made on first use and kept, since they depend only on the subtree
    (:func:`.codegen.build`). ``depth`` is the index in ``path.split("/")`` of the part its
    children match.
    """

    __slots__ = ("end", "static", "dynamic", "optional", "catchall", "optcatch", "depth", "fn", "k")

    def __init__(self, depth: int) -> None:
        self.end: Route | None = None
        self.static: dict[str, _Node] = {}
        self.dynamic: _Node | None = None
        self.optional: _Node | None = None
        self.catchall: Route | None = None
        self.optcatch: Route | None = None
        self.depth = depth
        self.fn: Callable[[list[str], int, tuple[object, ...]], Any] | None = None
        self.k: tuple[object, ...] = ()  # the values fn reads (set with it)

    def copy(self) -> _Node:
        """A shallow copy to change: nodes shared with an older table are never mutated."""
        new = _Node.__new__(_Node)
        for name in _Node.__slots__:
            setattr(new, name, getattr(self, name))
        new.static = dict(self.static)
        new.fn, new.k = None, ()
        return new

    def empty(self) -> bool:
        return (self.end is None and not self.static and self.dynamic is None
                and self.optional is None and self.catchall is None and self.optcatch is None)


# A route's place in the trie: each segment's kind, and its text when static. Routes of one key
# share one slot, which the first of them in rank order holds.
TrieKey = tuple[tuple[Kind, str], ...]


def trie_key(route: Route) -> TrieKey:
    return tuple((s.kind, s.name if s.kind is _STATIC else "") for s in route.segments)


def _key_path(key: TrieKey) -> str | None:
    """The raw path the static fast path maps to the slot of ``key``, if it has one."""
    if any(kind is not _STATIC for kind, _name in key):
        return None
    path = "/" + "/".join([name for _kind, name in key])
    # NOTE: a name with `%`, `?` or `#` reads differently raw (`a%20b` is the URL text
    # `a b`; `a?b` is `a` and a query), so only the trie, after decoding, may match it.
    if "%" in path or "?" in path or "#" in path:
        return None
    return path


def _set_slot(node: _Node, key: TrieKey, i: int, leaf: Route | None, fresh: set[int]) -> None:
    """Put ``leaf`` in the slot of ``key`` under ``node`` (fresh), copying shared nodes on the way
    and dropping the nodes that end up empty."""
    if i == len(key):
        node.end = leaf
        return
    kind, name = key[i]
    if kind is _CATCHALL:
        node.catchall = leaf
        return
    if kind is _OPTCATCH:
        node.optcatch = leaf
        return
    child = node.static.get(name) if kind is _STATIC else (
        node.dynamic if kind is _DYNAMIC else node.optional)
    if child is None:
        child = _Node(node.depth + 1)
        fresh.add(id(child))
    elif id(child) not in fresh:
        child = child.copy()
        fresh.add(id(child))
    _set_slot(child, key, i + 1, leaf, fresh)
    kept = None if child.empty() else child
    if kind is _STATIC:
        if kept is None:
            node.static.pop(name, None)
        else:
            node.static[name] = kept
    elif kind is _DYNAMIC:
        node.dynamic = kept
    else:
        node.optional = kept


class Matcher:
    """Compiled from routes already sorted by rank; immutable once built.

    ``match(path)`` gives the winning route for a raw path (percent-encoded, maybe with a query),
    or None, and raises :class:`~devserver.routing.paths.InvalidPath` for invalid
    percent-encoding. It is a plain function (generated, see :mod:`.codegen`), not a method.
    """

    __slots__ = ("_root", "_static", "_fallback", "match", "source")

    match: Callable[[str], Match | None]
    source: str  # the source of ``match``, to read

    def __init__(self, routes: Sequence[Route]) -> None:
        self._root = root = _Node(1)
        # PERF: a whole static path is one dict lookup; it always wins, since a static segment
        # outranks every parameter at the first position where two routes differ. The keys are
        # raw paths, so only names that read the same raw and decoded are keys (see _key_path).
        self._static: dict[str, Route] = {}
        # Routes whose file name breaks a rule (catch-all not last, ...) are not in the trie, but
        # a request they would match gets their 500, so the user learns why (DESIGN §2).
        self._fallback: list[Route] = []
        static = self._static
        for route in routes:  # in rank order: the first route to claim a slot keeps it
            if route.problems and not structurally_valid(route):
                self._fallback.append(route)
                continue
            # PERF: inlined, with the static fast path's key (a call per route costs a tenth of
            # the build).
            node = root
            plain = True  # every segment so far is static
            for seg in route.segments:
                kind = seg.kind
                if kind is _STATIC:
                    name = seg.name
                    child = node.static.get(name)
                    if child is None:
                        child = node.static[name] = _Node(node.depth + 1)
                    node = child
                    continue
                plain = False
                if kind is _DYNAMIC:
                    if node.dynamic is None:
                        node.dynamic = _Node(node.depth + 1)
                    node = node.dynamic
                elif kind is _OPTIONAL:
                    if node.optional is None:
                        node.optional = _Node(node.depth + 1)
                    node = node.optional
                elif kind is _CATCHALL:
                    if node.catchall is None:
                        node.catchall = route
                    break
                else:
                    if node.optcatch is None:
                        node.optcatch = route
                    break
            else:
                if node.end is None:
                    node.end = route
                    if plain:
                        path = "/" + "/".join([seg.name for seg in route.segments])
                        # NOTE: as in _key_path: a name with `%`, `?` or `#` reads differently raw.
                        if "%" not in path and "?" not in path and "#" not in path:
                            static.setdefault(path, route)
                            if route.segments:
                                static.setdefault(path + "/", route)
        self._compile()

    def _compile(self) -> None:
        self.source, self.match = top_function(self._root, self._static, self._slow,
                                               bool(self._fallback))

    def updated(self, slots: Mapping[TrieKey, Route | None], fallback: list[Route]) -> Matcher:
        """A new matcher with each slot of ``slots`` held by its route (or emptied by None).

        ``fallback`` replaces the routes matched apart (invalid on their own), in rank order.
        Nodes off the changed paths are shared with this matcher, which stays as it was: only
        the nodes along a changed path are copied.
        """
        new = Matcher.__new__(Matcher)
        new._static = dict(self._static)
        new._fallback = fallback
        fresh: set[int] = set()
        root = self._root.copy()
        fresh.add(id(root))
        for key, route in slots.items():
            _set_slot(root, key, 0, route, fresh)
            path = _key_path(key)
            if path is not None:
                new._set_static(path, route, bool(key))
        new._root = root
        new._compile()
        return new

    def _set_static(self, path: str, route: Route | None, slash: bool) -> None:
        for raw in (path, path + "/") if slash else (path,):
            if route is None:
                self._static.pop(raw, None)
            else:
                self._static[raw] = route

    def subtree_source(self, first: str) -> str | None:
        """The generated code for paths whose first segment is ``first``, to read (or None)."""
        node = self._root.static.get(first)
        return None if node is None else node_source(node, plain=True)

    def _slow(self, path: str) -> Match | None:
        """Match a path the generated code cannot take as it is, by the full walk if need be."""
        raw = normalize_raw(path)
        if raw != path and "%" not in raw:
            return self.match(raw)  # without its query (or with a leading slash), it may
        segs = split_path(raw)
        if "" in segs:
            return None  # an empty segment is never a value, on any branch
        return self._full(segs)

    def _full(self, segs: list[str]) -> Match | None:
        found = self.lookup(segs)
        if found is None:
            return None
        route, values = found
        return Match(route.id, bind(route, values), route)

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


def structurally_valid(route: Route) -> bool:
    # NOTE: conflicts between two valid routes keep both in the trie (the first claims the slot
    # and both carry the error); only a route that is invalid on its own is matched apart.
    return not route.problems or not any(p.rule in _STRUCTURAL for p in route.problems)


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
    last = node.catchall if node.catchall is not None else node.optcatch
    if last is not None:
        rest = segs[i:]
        if "" not in rest:
            return last, [*vals, rest]
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
        if kind is _STATIC:
            return go(si + 1, pi + 1, params) if pi < len(segs) and segs[pi] == seg.name else None
        if kind in (_DYNAMIC, _OPTIONAL) and pi < len(segs) and segs[pi]:
            found = go(si + 1, pi + 1, {**params, seg.name: segs[pi]})
            if found is not None or kind is _DYNAMIC:
                return found
        if kind is _DYNAMIC:
            return None
        if kind is _OPTIONAL:
            return go(si + 1, pi, params)
        least = 1 if kind is _CATCHALL else 0
        for end in range(len(segs), pi + least - 1, -1):  # greedy: longest first
            taken = list(segs[pi:end])
            if "" in taken:
                continue
            found = go(si + 1, end, {**params, seg.name: taken} if taken else params)
            if found is not None:
                return found
        return None

    return go(0, 0, {})
