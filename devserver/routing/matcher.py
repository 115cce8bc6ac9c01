"""The compiled matcher: a segment trie walked in precedence order, plus a static fast path.

Matching cost depends on the depth of the path, not on the number of routes: static children
are one dict lookup, and each node has at most one child of each parameter kind (routes of the
same shape share the node; their names are applied from the winning route at the end).

The walk visits a node's children in precedence order (route ends here, static, dynamic,
optional, catch-all, optional catch-all) and backtracks when a branch cannot finish, which makes
the first full match the same route that "first in sorted order that matches" would give
(DESIGN §2; a property test compares the two).

PERF: most paths never need to backtrack, so :meth:`Matcher.match` first follows the best child
at each node in one flat loop (no recursion, no copies, no calls), and only when that greedy walk
fails at a node that ``seal`` marked as reached past a fork (an ancestor had another child that
could have taken the segment), or meets an optional segment, is the path redone by the full
backtracking walk (``_walk``). The first path a depth-first search follows is the greedy one, so
when the greedy walk succeeds, the full walk would have returned the same route; and when it
fails with no fork behind it, so would the full walk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from .paths import normalize_raw, split_path
from .routes import Route
from .segments import Kind

__all__ = ["Match", "Matcher", "TrieKey", "match_segments", "structurally_valid", "trie_key"]

_Value = str | list[str] | None  # None: an optional parameter that matched nothing


# PERF: an enum member read through its class (`Kind.STATIC`) costs a few hundred ns on 3.11;
# the build reads them once per segment, so they are module constants here.
_STATIC, _DYNAMIC, _OPTIONAL, _CATCHALL = Kind.STATIC, Kind.DYNAMIC, Kind.OPTIONAL, Kind.CATCHALL
_OPTCATCH = Kind.OPTIONAL_CATCHALL


class Match:
    """A matched route: ``route`` is its id (``"users/[id]"``), ``params`` the decoded values,
    ``spec`` the :class:`Route`. Compares equal by those three; unpacks as ``route, params, spec``.
    """

    __slots__ = ("route", "params", "spec")

    def __init__(self, route: str, params: dict[str, str | list[str]], spec: Route) -> None:
        self.route = route
        self.params = params
        self.spec = spec

    def __iter__(self) -> Iterator[object]:
        return iter((self.route, self.params, self.spec))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Match):
            return NotImplemented
        return (self.route, self.params, self.spec) == (other.route, other.params, other.spec)

    __hash__ = None  # type: ignore[assignment]  # params is a dict

    def __repr__(self) -> str:
        return f"Match(route={self.route!r}, params={self.params!r}, spec={self.spec!r})"


class _Made(Match):
    """How the matcher makes a :class:`Match`: ``_Made()``, then the three fields stored.

    PERF: a class called with no ``__init__`` of its own is made by a C fast path, and three slot
    stores are cheap; building a named tuple through ``tuple.__new__`` cost about 300 ns more per
    request on this machine (see BENCHMARKS.md), a third of a dynamic match.
    """

    __slots__ = ()
    __init__ = object.__init__


class _Leaf:
    """A route where the trie ends, with where the greedy walk finds its values (computed once).

    The greedy walk matches ``path.split("/")``, whose first item is the "" before the leading
    slash, so the value of the route's segment ``k`` is ``parts[k + 1]``, and a catch-all's is
    ``parts[k + 1:]``.
    """

    __slots__ = ("route", "id", "singles", "one", "at", "rest_name", "rest_at")

    def __init__(self, route: Route) -> None:
        self.route = route
        self.id = route.id
        singles: list[tuple[str, int]] = []
        self.rest_name = ""
        self.rest_at = 0
        for k, seg in enumerate(route.segments, start=1):
            kind = seg.kind
            if kind is _DYNAMIC or kind is _OPTIONAL:
                singles.append((seg.name, k))
            elif kind is not _STATIC:
                self.rest_name, self.rest_at = seg.name, k
        self.singles = tuple(singles)
        # PERF: one single-segment parameter is the common case, built as a dict display.
        self.one, self.at = singles[0] if len(singles) == 1 else ("", 0)


class _Node:
    __slots__ = ("end", "static", "dynamic", "optional", "catchall", "optcatch",
                 "rest", "catch", "retry", "retry_end", "forked")

    def __init__(self) -> None:
        self.end: _Leaf | None = None
        self.static: dict[str, _Node] = {}
        self.dynamic: _Node | None = None
        self.optional: _Node | None = None
        self.catchall: _Leaf | None = None
        self.optcatch: _Leaf | None = None
        # Filled in by seal() once the trie is complete, for the greedy walk:
        self.rest: _Leaf | None = None  # the catch-all that takes one or more segments here
        self.catch: _Leaf | None = None  # rest, when no optional sibling outranks it
        self.retry = False  # a failure here (path not finished) needs the full walk
        self.retry_end = False  # a path that ends here without a route needs the full walk
        self.forked = False  # an ancestor had another child that could take this segment

    def copy(self) -> _Node:
        """A shallow copy to change: nodes shared with an older table are never mutated."""
        new = _Node.__new__(_Node)
        for name in _Node.__slots__:
            setattr(new, name, getattr(self, name))
        new.static = dict(self.static)
        return new

    def empty(self) -> bool:
        return (self.end is None and not self.static and self.dynamic is None
                and self.optional is None and self.catchall is None and self.optcatch is None)

    def seal_one(self, forked: bool) -> tuple[bool, bool]:
        """Fill in this node's greedy-walk fields; return the ``forked`` of its static and
        dynamic children (an optional child is always reached past a fork)."""
        self.forked = forked
        self.rest = self.catchall if self.catchall is not None else self.optcatch
        self.catch = self.rest if self.optional is None else None
        self.retry = forked or self.optional is not None
        self.retry_end = self.retry or self.optcatch is not None
        after_dynamic = forked or self.optional is not None or self.rest is not None
        return after_dynamic or self.dynamic is not None, after_dynamic

    def seal(self) -> None:
        """Fill in the greedy walk's fields for this node and every node under it."""
        # PERF: a stack, not recursion: one Python call per node would double the build.
        stack: list[tuple[_Node, bool]] = [(self, False)]  # (node, an ancestor had another child)
        while stack:
            node, forked = stack.pop()
            # NOTE: seal_one(), inlined (PERF: a call per node is a tenth of the build); the
            # incremental-build test compares the two through whole tables.
            node.forked = forked
            rest = node.rest = node.catchall if node.catchall is not None else node.optcatch
            node.catch = rest if node.optional is None else None
            retry = node.retry = forked or node.optional is not None
            node.retry_end = retry or node.optcatch is not None
            after_dynamic = retry or rest is not None
            after_static = after_dynamic or node.dynamic is not None
            if node.static:
                stack.extend([(child, after_static) for child in node.static.values()])
            if node.dynamic is not None:
                stack.append((node.dynamic, after_dynamic))
            if node.optional is not None:
                stack.append((node.optional, True))


# A route's place in the trie: each segment's kind, and its text when static. Routes of one key
# share one slot, which the first of them in rank order holds.
TrieKey = tuple[tuple[Kind, str], ...]


def trie_key(route: Route) -> TrieKey:
    return tuple((s.kind, s.name if s.kind is _STATIC else "") for s in route.segments)


def _top_of(root: _Node) -> _Node:
    """The node the greedy walk starts from: its one child, "", is the root (see Matcher.match)."""
    top = _Node()
    top.static[""] = root
    top.retry = top.retry_end = True  # a path not starting with `/` is redone by _slow
    return top


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


def _set_slot(node: _Node, key: TrieKey, i: int, leaf: _Leaf | None, fresh: set[int]) -> None:
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
        child = _Node()
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


def _reseal_path(root: _Node, key: TrieKey, fresh: set[int]) -> None:
    """Seal the fresh nodes along ``key``; where a node now hands its children another ``forked``
    than they were sealed with, reseal those children's subtrees too (as copies)."""
    node: _Node | None = root
    forked = False
    for kind, name in key:
        assert node is not None and id(node) in fresh
        after_static, after_dynamic = node.seal_one(forked)
        for sname, child in node.static.items() if node.static else ():
            if child.forked is not after_static and id(child) not in fresh:
                node.static[sname] = _resealed(child, after_static, fresh)
        if node.dynamic is not None and node.dynamic.forked is not after_dynamic \
                and id(node.dynamic) not in fresh:
            node.dynamic = _resealed(node.dynamic, after_dynamic, fresh)
        if kind is _STATIC:
            node, forked = node.static.get(name), after_static
        elif kind is _DYNAMIC:
            node, forked = node.dynamic, after_dynamic
        elif kind is _OPTIONAL:
            node, forked = node.optional, True
        else:
            return  # a catch-all's slot is on this node
        if node is None:
            return  # the path was emptied and dropped
    if node is not None:
        _resealed(node, forked, fresh, force=True)


def _resealed(node: _Node, forked: bool, fresh: set[int], force: bool = False) -> _Node:
    """``node`` sealed as reached with ``forked``: itself when nothing changes, else a copy (or
    the fresh node itself) with its subtree resealed as needed."""
    if node.forked is forked and not force:
        return node
    if id(node) not in fresh:
        node = node.copy()
        fresh.add(id(node))
    after_static, after_dynamic = node.seal_one(forked)
    for name, child in list(node.static.items()):
        if child.forked is not after_static:
            node.static[name] = _resealed(child, after_static, fresh)
    if node.dynamic is not None and node.dynamic.forked is not after_dynamic:
        node.dynamic = _resealed(node.dynamic, after_dynamic, fresh)
    return node


class Matcher:
    """Compiled from routes already sorted by rank; immutable once built."""

    __slots__ = ("_root", "_top", "_static", "_fallback")

    def __init__(self, routes: Sequence[Route]) -> None:
        self._root = _Node()
        # PERF: a whole static path is one dict lookup; it always wins, since a static segment
        # outranks every parameter at the first position where two routes differ. The keys are
        # raw paths, so only names that read the same raw and decoded are keys (see _insert).
        self._static: dict[str, _Leaf] = {}
        # Routes whose file name breaks a rule (catch-all not last, ...) are not in the trie, but
        # a request they would match gets their 500, so the user learns why (DESIGN §2).
        self._fallback: list[Route] = []
        for route in routes:  # in rank order: the first route to claim a slot keeps it
            if structurally_valid(route):
                self._insert(route)
            else:
                self._fallback.append(route)
        self._root.seal()
        self._top = _top_of(self._root)

    def _insert(self, route: Route) -> None:
        node = self._root
        leaf = _Leaf(route)
        for seg in route.segments:
            kind = seg.kind
            if kind is _STATIC:
                child = node.static.get(seg.name)
                if child is None:
                    child = node.static[seg.name] = _Node()
                node = child
            elif kind is _DYNAMIC:
                if node.dynamic is None:
                    node.dynamic = _Node()
                node = node.dynamic
            elif kind is _OPTIONAL:
                if node.optional is None:
                    node.optional = _Node()
                node = node.optional
            elif kind is _CATCHALL:
                node.catchall = node.catchall or leaf
                return
            else:
                node.optcatch = node.optcatch or leaf
                return
        if node.end is None:
            node.end = leaf
        if leaf.singles:
            return
        # Every segment is static here (a parameter would be in singles, a catch-all returned).
        path = "/" + "/".join([seg.name for seg in route.segments])
        # NOTE: as in _key_path: a name with `%`, `?` or `#` reads differently raw.
        if "%" not in path and "?" not in path and "#" not in path:
            self._static.setdefault(path, node.end)
            if route.segments:
                self._static.setdefault(path + "/", node.end)

    def updated(self, slots: Mapping[TrieKey, Route | None], fallback: list[Route]) -> Matcher:
        """A new matcher with each slot of ``slots`` held by its route (or emptied by None).

        ``fallback`` replaces the routes matched apart (invalid on their own), in rank order.
        Nodes off the changed paths are shared with this matcher, which stays as it was: only
        the nodes along a changed path are copied, and the subtrees whose ``forked`` changed.
        """
        new = Matcher.__new__(Matcher)
        new._static = dict(self._static)
        new._fallback = fallback
        fresh: set[int] = set()
        root = self._root.copy()
        fresh.add(id(root))
        for key, route in slots.items():
            leaf = _Leaf(route) if route is not None else None
            _set_slot(root, key, 0, leaf, fresh)
            path = _key_path(key)
            if path is not None:
                new._set_static(path, leaf, bool(key))
        for key in slots:
            _reseal_path(root, key, fresh)
        new._root = root
        new._top = _top_of(root)
        return new

    def _set_static(self, path: str, leaf: _Leaf | None, slash: bool) -> None:
        for raw in (path, path + "/") if slash else (path,):
            if leaf is None:
                self._static.pop(raw, None)
            else:
                self._static[raw] = leaf

    def match(self, path: str) -> Match | None:
        """The winning route for a raw path (percent-encoded, maybe with a query), or None.

        Raises :class:`~devserver.routing.paths.InvalidPath` for invalid percent-encoding.
        """
        # PERF: this is the hot path, written flat: every Python call here would cost about as
        # much as a trie step, so there are none (see BENCHMARKS.md).
        leaf = self._static.get(path)
        if leaf is not None:
            m: Match = _Made()
            m.route, m.params, m.spec = leaf.id, {}, leaf.route
            return m
        if "%" in path or "?" in path or "#" in path:
            return self._slow(path)
        parts = path.split("/")
        if parts.count("") != 1:
            return self._slow(path)  # a trailing slash, `//` (an empty segment), or just "/"
        # The greedy walk: the best child at each node (see the module docstring). It starts above
        # the root, at a node whose only child is the "" before the leading slash, so a path
        # without one fails at once and is redone by _slow; past it, no segment is empty.
        node = self._top
        for seg in parts:
            # PERF: one call takes the static child, else the dynamic one (the usual next step).
            child = node.static.get(seg, node.dynamic)
            if child is None:
                if node.catch is not None:
                    leaf = node.catch
                    break
                return self._slow(path) if node.retry or self._fallback else None
            node = child
        else:
            leaf = node.end
            if leaf is None:
                return self._slow(path) if node.retry_end or self._fallback else None
        if leaf.one:
            params: dict[str, str | list[str]] = {leaf.one: parts[leaf.at]}
        else:
            params = {}
            for name, at in leaf.singles:
                params[name] = parts[at]
        if leaf.rest_name:
            params[leaf.rest_name] = parts[leaf.rest_at:]
        m = _Made()
        m.route, m.params, m.spec = leaf.id, params, leaf.route
        return m

    def _slow(self, path: str) -> Match | None:
        """Match a path the greedy walk cannot take as it is, by the full walk if need be."""
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
            leaf, values = found
            return leaf.route, values
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
          vals: list[_Value]) -> tuple[_Leaf, list[_Value]] | None:
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
    if node.rest is not None:
        rest = segs[i:]
        if "" not in rest:
            return node.rest, [*vals, rest]
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
