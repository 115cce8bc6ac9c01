"""The immutable route table: build it from route ids or files, match paths, explain outcomes.

>>> table = build_table(["users/[id]", "docs/[...path]", "index"])
>>> m = table.match("/users/42")
>>> (m.route, m.params)
('users/[id]', {'id': '42'})
>>> table.match("/nope/x") is None
True
"""

from __future__ import annotations

import gc
import weakref
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import attrgetter, itemgetter
from typing import cast

from .conflicts import (
    Draft,
    Group,
    Notes,
    Parsed,
    Shape,
    add_member,
    file_key,
    group_drafts,
    group_key,
    members,
    note_members,
    note_prefixes,
    parse_file,
    parsed_key,
    related_shapes,
    shape_conflicts,
)
from .explain import Explanation, explain_path
from .matcher import Match, Matcher, TrieKey, structurally_valid, trie_key
from .paths import InvalidPath, normalize_raw, split_path
from .precedence import Ranks
from .routes import Problem, Route, RouteFile, api_file, make_route, parse_route_id

__all__ = ["RouteTable", "build_table"]

_SEVERITY_ORDER = {"error": 0, "warning": 1, "note": 2}

# A route with its place in the table: ``(ranks, route id, i, route)``. The ranks and the id are
# ``precedence.sort_key``; ``i`` is the route's place among the drafts of its shape (two drafts
# of one id and shape, an API and a lone page, tie on the key alone). Keys are unique, so entries
# compare without ever comparing two routes; and as ranks tell shapes apart, the entries of one
# shape and id are next to each other in rank order (see ``_Index.entries_of``).
# PERF: one tuple per route (the ranks come parsed): a build makes 10,000 of them, and the
# collector walks every one.
Entry = tuple[Ranks, str, int, Route]
_route_of = itemgetter(3)
_draft_index = itemgetter(2)
_first = itemgetter(0)
_id_of = attrgetter("id")
_kind_id_file = attrgetter("kind", "id", "file")
_kind_id = attrgetter("kind", "id")
_kind_of = attrgetter("kind")


class RouteTable:
    """Routes in precedence order, the problems found in them, and a compiled matcher.

    Built once per change of the route files and never mutated: a reload builds a new table
    and swaps the reference, so requests in flight finish on the table they started with.

    ``table.match(path)`` gives the route that answers ``path`` (raw, percent-encoded; a query
    is ignored) as a :class:`Match`, or None; it raises :class:`InvalidPath` for invalid
    percent-encoding (the server answers 400).
    """

    __slots__ = ("routes", "problems", "match", "_by_id", "_matcher", "_index", "_ranks", "_base",
                 "_changes", "__weakref__")

    # PERF: ``match`` is the matcher's own bound method, not a method that calls it: one
    # Python call less on every request (see BENCHMARKS.md).
    match: Callable[[str], Match | None]

    def __init__(self, routes: tuple[Route, ...], problems: tuple[Problem, ...],
                 matcher: Matcher | None = None, index: _Index | None = None,
                 by_id: dict[str, Route] | None = None) -> None:
        self.routes = routes
        self.problems = problems
        # PERF: map() and zip() keep the loop over every route in C.
        self._by_id = by_id if by_id is not None else dict(zip(map(_id_of, routes), routes, strict=True))
        self._matcher = matcher if matcher is not None else Matcher(routes)
        self.match = self._matcher.match
        self._index = index
        self._ranks: dict[int, int] | None = None
        # The table this one was built from (weakly: tables must not chain up in memory), the
        # routes of it this one replaced and the routes replacing them (see ``changes_since``).
        self._base: weakref.ref[RouteTable] | None = None
        self._changes: tuple[tuple[Route, ...], tuple[Route, ...]] | None = None

    def __len__(self) -> int:
        return len(self.routes)

    def __repr__(self) -> str:
        return f"<RouteTable {len(self.routes)} routes, {len(self.problems)} problems>"

    def get(self, route_id: str) -> Route | None:
        return self._by_id.get(route_id)

    def changes_since(self, other: RouteTable) -> tuple[tuple[Route, ...], tuple[Route, ...]] | None:
        """``(removed, added)``: the routes of ``other`` this table does not have, and its routes
        ``other`` does not have, when this table was built from ``other`` (``previous=other``)
        reusing it; None when that is not known (a build from scratch, or from another table).

        Every other route is the very same object in both tables. Routes are replaced a whole
        shape at a time, so when a route of an id is in ``removed`` or ``added``, every route of
        that id in ``other`` is in ``removed`` and every route of it here is in ``added``.
        """
        if other is self:
            return (), ()
        if self._base is None or self._base() is not other:
            return None
        return self._changes

    def rank(self, route: Route) -> int:
        """``route``'s place in precedence order, from 1 (its index in ``routes``, plus one)."""
        if self._ranks is None:
            self._ranks = {id(r): rank for rank, r in enumerate(self.routes, start=1)}
        return self._ranks[id(route)]

    def explain(self, path: str, method: str = "GET",
                methods: Mapping[str, frozenset[str]] | None = None) -> Explanation:
        """Why ``method path`` goes where it goes; ``methods`` maps route ids to exported methods."""
        raw = normalize_raw(path)
        try:
            segs = split_path(raw)
        except InvalidPath as exc:
            return Explanation(method.upper(), raw, 400, exc.reason)
        found = self._matcher.lookup(segs)
        winner = found[0] if found is not None else None
        return explain_path(self.routes, winner, segs, method=method.upper(), path=raw,
                            methods=methods)

    def as_dict(self) -> dict[str, object]:
        return {
            "routes": [route_dict(r, rank) for rank, r in enumerate(self.routes, start=1)],
            "problems": [p.as_dict() for p in self.problems],
        }


def route_dict(route: Route, rank: int) -> dict[str, object]:
    """``route`` as JSON-ready data; ``rank`` is its place in its table (``RouteTable.rank``)."""
    return {
        "rank": rank,
        "id": route.id,
        "pattern": route.pattern,
        "shape": route.shape,
        "api_file": route.api_file,
        "page_file": route.page_file,
        "params": [{"name": n, "kind": k} for n, k in route.params],
        "status": route.status,
        "problems": [p.as_dict() for p in route.problems],
    }


def build_table(entries: Iterable[str | RouteFile], *, previous: RouteTable | None = None) -> RouteTable:
    """Build a table from route ids (``"users/[id]"``) or :class:`RouteFile` records.

    Never raises for a bad route set: invalid and conflicting routes become :class:`Problem`
    records on ``table.problems`` and on each route involved (those routes answer 500).

    With ``previous`` (a table built from a list of the same ``RouteFile`` objects, give or take
    a few), only what the added and removed files touch is parsed, checked and compiled again;
    the rest is shared with ``previous``, which is left as it was. The result equals a build from
    scratch in every way (routes, order, problems, matches, explanations).

    >>> old = build_table([RouteFile("users/[id]")])
    >>> new = build_table([*old_files(old), RouteFile("users/me")], previous=old)
    >>> [r.id for r in new.routes]
    ['users/me', 'users/[id]']
    """
    given = tuple(entries)
    # PERF: files from discovery are all RouteFile; checking the set of types stays in C.
    types = set(map(type, given))
    if types <= {RouteFile}:
        files = cast(tuple[RouteFile, ...], given)
    elif types == {str}:  # PERF: bare ids, as in the benchmarks and tests, each made in C calls
        files = tuple(map(api_file, cast(tuple[str, ...], given)))
    else:
        files = tuple(e if isinstance(e, RouteFile) else RouteFile(e) for e in given)
    with _gc_paused():
        if previous is not None and previous._index is not None:
            updated = previous._index.updated(files, previous._matcher, previous._by_id)
            if updated is not None:
                updated._base = weakref.ref(previous)
                return updated
        return _Index.build(files)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the length of a build.

    PERF: a build of 10,000 routes allocates a few hundred thousand objects and frees almost none,
    so the collector would run hundreds of times and walk the growing heap for nothing: about a
    third of the build's time. Nothing here makes reference cycles.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # NOTE: the first allocation after this walks every object the build made (a young
        # collection; 10,000 routes: ~50 ms on this machine), and they are walked once more when
        # they age. No gc.freeze()/unfreeze() here to spare that: unfreeze would also thaw what
        # the fork server froze before forking this worker (devserver.forkserver), and the
        # collector would then touch, and so copy, the pages the worker shares with it. Nor
        # gc.freeze() alone: it would pin in the never-collected generation everything alive in
        # the worker at that moment, not only the table, and what of it later becomes a cycle of
        # garbage (the previous version of a reloaded module, with its functions and globals; a
        # request's exception and frames) would never be freed, so memory would grow with each
        # reload. What is done instead is to make fewer objects the collector tracks (PERF: one
        # tuple per route in the rank order, not four; no per-shape lists of them).
        if was_enabled:
            gc.enable()


def old_files(table: RouteTable) -> list[RouteFile]:
    """The distinct ``RouteFile`` objects ``table`` was built from (for ``previous=``)."""
    return list(table._index.files) if table._index is not None else []


def _entries(drafts: Sequence[Draft]) -> list[Entry]:
    """The entries of one shape's drafts (see ``Entry``)."""
    return [(d.ranks, d.id, i, _freeze(d)) for i, d in enumerate(drafts)]


def _freeze(d: Draft) -> Route:
    api, page = d.api, d.page
    return make_route(d.id, d.segments, api is not None, page is not None,
                      api.file if api is not None else None, page.file if page is not None else None,
                      page.id if page is not None else None, tuple(d.problems))


def _ordered_problems(entries: Iterable[Entry]) -> tuple[Problem, ...]:
    problems: dict[Problem, None] = {}
    for entry in entries:
        problems.update(dict.fromkeys(entry[3].problems))
    return tuple(sorted(problems, key=lambda p: (_SEVERITY_ORDER[p.severity], p.routes, p.rule)))


class _Index:
    """What a table was built from, kept so that the next build can reuse it (``previous=``).

    Never mutated once its table exists: an update copies the containers it changes (a copy of
    a dict of 10,000 entries is a fraction of a millisecond; re-deriving them is not).
    """

    __slots__ = ("files", "counts", "groups", "notes", "order", "fallback", "flagged")

    def __init__(self, files: tuple[RouteFile, ...], counts: Counter[RouteFile],
                 groups: dict[Shape, Group], notes: Notes,
                 order: list[Entry], fallback: list[Entry], flagged: list[Entry]) -> None:
        self.files = files  # the files as given, for the next build's diff
        self.counts = counts  # file -> how many times it was given
        self.groups = groups  # shape -> its parsed files, deduplicated, sorted by file_key
        # A parameter prefix -> the shapes that start with it (at least; see note_prefixes and
        # conflicts.Notes).
        self.notes = notes
        self.order = order  # every route with its order key, in rank order
        self.fallback = fallback  # routes invalid on their own, matched apart, in rank order
        self.flagged = flagged  # routes with problems, in rank order

    @staticmethod
    def build(files: tuple[RouteFile, ...]) -> RouteTable:
        """The full build: every file parsed, paired, checked, ordered and compiled."""
        counts = Counter(files)
        # NOTE: parse_file and group_files, inlined (PERF: two Python calls and a tuple less per
        # file). The files are parsed in file_key order, so the groups come in the order of their
        # first file and each group is in order.
        groups: dict[Shape, Group] = {}
        get = groups.get
        for f in _in_file_key_order(counts):
            p = parse_route_id(f.id, f.file)
            shape = p.shape
            group = get(shape)
            if group is None:
                groups[shape] = (f, p)
            else:
                add_member(groups, shape, (f, p))
        drafts = {shape: group_drafts(group) for shape, group in groups.items()}
        notes: Notes = {}
        shape_conflicts(drafts, notes)
        order = [(d.ranks, d.id, i, _freeze(d)) for ds in drafts.values() for i, d in enumerate(ds)]
        order.sort()
        flagged = [e for e in order if e[3].problems]
        fallback = [e for e in flagged if not structurally_valid(e[3])]  # valid: no problems
        index = _Index(files, counts, groups, notes, order, fallback, flagged)
        routes = tuple(map(_route_of, order))
        return RouteTable(routes, _ordered_problems(flagged), Matcher(routes), index)

    def updated(self, files: tuple[RouteFile, ...], matcher: Matcher,
                by_id: Mapping[str, Route]) -> RouteTable | None:
        """The table of ``files``, reusing this index; None when a full build is cheaper."""
        old = self.files
        # PERF: a reload adds or removes a file or two; the lists agree before and after them.
        # Slices compare in C, and compare identical objects without calling __eq__.
        head = _common_prefix(old, files)
        tail = _common_suffix(old, files, min(len(old), len(files)) - head)
        removed = old[head:len(old) - tail]
        added = files[head:len(files) - tail]
        if len(added) + len(removed) > max(64, len(files) // 8):
            return None  # a full build is cheaper (or the list was reordered)
        counts = self.counts.copy()
        groups = dict(self.groups)
        touched: set[Shape] = set()
        for f in added:
            counts[f] += 1
            if counts[f] == 1:
                shape, entry = parse_file(f)
                _set_group(groups, shape, sorted([*members(groups[shape]), entry] if shape in groups
                                                 else [entry], key=parsed_key))
                touched.add(shape)
        for f in removed:
            counts[f] -= 1
            if counts[f] == 0:
                del counts[f]
                shape, _entry = parse_file(f)
                _set_group(groups, shape, [e for e in members(groups[shape]) if e[0] != f])
                touched.add(shape)
        notes = self._notes_after(touched, groups)
        # The drafts whose problems may change, and every draft a rule compares them with.
        changed = self._related(touched, groups, notes)
        needed = self._related(changed, groups, notes)
        return self._rebuilt(files, counts, groups, notes, changed, needed, matcher, by_id)

    def entries_of(self, shape: Shape) -> list[Entry]:
        """The entries of ``shape``'s drafts, in the order of its drafts.

        A draft takes its id and ranks from one of its files, and ranks tell shapes apart, so
        these are the entries keyed by the ranks and id of one of the shape's files: a run of
        ``order`` each (see ``Entry``).
        """
        found: list[Entry] = []
        order = self.order
        group = self.groups.get(shape)
        parsed = members(group) if group is not None else ()
        for ranks, route_id in dict.fromkeys((p.ranks, p.id) for _f, p in parsed):
            at = bisect_left(order, (ranks, route_id))  # a key's prefix sorts before the key
            while at < len(order) and order[at][0] == ranks and order[at][1] == route_id:
                found.append(order[at])
                at += 1
        found.sort(key=_draft_index)
        return found

    def _notes_after(self, touched: set[Shape], groups: Mapping[Shape, object]) -> Notes:
        notes = dict(self.notes)
        for shape in touched:
            for prefix in note_prefixes(shape):
                shapes = set(note_members(notes.get(prefix)))
                if shape in groups:
                    shapes.add(shape)
                else:
                    shapes.discard(shape)
                if len(shapes) > 1:
                    notes[prefix] = shapes
                elif shapes:
                    notes[prefix] = shapes.pop()
                else:
                    notes.pop(prefix, None)
        return notes

    @staticmethod
    def _related(shapes: Iterable[Shape], groups: Mapping[Shape, object],
                 notes: Notes) -> set[Shape]:
        """``shapes`` and every shape a conflict rule relates to one of them."""
        out = set(shapes)
        for shape in list(out):
            out.update(s for s in related_shapes(shape) if s in groups)
            for prefix in note_prefixes(shape):
                out.update(note_members(notes.get(prefix)))
        return out

    def _rebuilt(self, files: tuple[RouteFile, ...], counts: Counter[RouteFile],
                 groups: dict[Shape, Group], notes: Notes,
                 changed: set[Shape], needed: set[Shape], matcher: Matcher,
                 by_id: Mapping[str, Route]) -> RouteTable:
        # Conflicts over the needed drafts, in the order a full build would see them.
        shapes = sorted((s for s in needed if s in groups), key=lambda s: group_key(groups[s]))
        drafts = {shape: group_drafts(groups[shape]) for shape in shapes}
        shape_conflicts(drafts)
        gone: list[Entry] = []
        new: list[Entry] = []
        for shape in changed:
            gone.extend(self.entries_of(shape))
            if shape in drafts:
                new.extend(_entries(drafts[shape]))
        order = _replace(self.order, gone, new)
        fallback = _replace(self.fallback, [e for e in gone if not structurally_valid(e[3])],
                            [e for e in new if not structurally_valid(e[3])])
        flagged = _replace(self.flagged, [e for e in gone if e[3].problems],
                           [e for e in new if e[3].problems])
        index = _Index(files, counts, groups, notes, order, fallback, flagged)
        routes = tuple(map(_route_of, order))
        slots: dict[TrieKey, Route | None] = {
            trie_key(route): None for route in map(_route_of, gone) if structurally_valid(route)}
        for route in map(_route_of, sorted(new, reverse=True)):
            if structurally_valid(route):
                slots[trie_key(route)] = route  # the last written is the first in rank order
        matcher = matcher.updated(slots, list(map(_route_of, fallback)))
        by_id = dict(by_id)  # the last route of an id wins; all routes of one id share a shape
        for route in map(_route_of, gone):
            by_id.pop(route.id, None)
        for route in map(_route_of, sorted(new)):
            by_id[route.id] = route
        table = RouteTable(routes, _ordered_problems(flagged), matcher, index, by_id)
        table._changes = tuple(map(_route_of, gone)), tuple(map(_route_of, new))
        return table


def _in_file_key_order(files: Collection[RouteFile]) -> list[RouteFile]:
    """``files`` sorted by ``conflicts.file_key`` (kind, id, then file)."""
    if len(set(map(_kind_id, files))) == len(files):
        # PERF: no two files of one kind and id (the file never decides): sorted by id, then
        # (stably) by kind. Keys that are all strings compare in CPython's fast path for str,
        # about half the instructions of comparing (kind, id, file) tuples.
        ordered = sorted(files, key=_id_of)
        if len(set(map(_kind_of, files))) > 1:
            ordered.sort(key=_kind_of)
        return ordered
    # The keys taken in C. A key's file is None for a bare id, and None and a str do not
    # compare: only two files of one kind and id can get that far, and then the full key decides.
    try:
        return sorted(files, key=_kind_id_file)
    except TypeError:
        return sorted(files, key=file_key)


def _set_group(groups: dict[Shape, Group], shape: Shape, entries: list[Parsed]) -> None:
    """Make ``entries`` (in order) the group of ``shape``, or drop the group when there are none."""
    if len(entries) > 1:
        groups[shape] = entries
    elif entries:
        groups[shape] = entries[0]
    else:
        del groups[shape]


def _common_prefix(a: Sequence[RouteFile], b: Sequence[RouteFile]) -> int:
    """How many items ``a`` and ``b`` agree on from the start (a binary search over slices)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: Sequence[RouteFile], b: Sequence[RouteFile], most: int) -> int:
    """How many items (at most ``most``) ``a`` and ``b`` agree on from the end."""
    lo, hi = 0, most
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid:len(a) - lo] == b[len(b) - mid:len(b) - lo]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _replace(entries: list[Entry], gone: Iterable[Entry], new: Iterable[Entry]) -> list[Entry]:
    """A copy of ``entries`` (in key order) without ``gone`` and with ``new``, still in order."""
    out = list(entries)
    for entry in gone:
        at = bisect_left(out, entry)
        while out[at][3] is not entry[3]:
            at += 1
        del out[at]
    for entry in new:
        out.insert(bisect_left(out, entry), entry)
    return out
