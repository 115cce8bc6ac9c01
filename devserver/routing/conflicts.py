"""Pairing API and page files into routes, and the conflicts between routes (DESIGN §2).

Files in, routes and problem records out. Every rule has its own sentence naming the files and
the URL shape they collide on; nothing here raises, because a conflict never stops the server.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .precedence import END_RANK, Ranks
from .routes import ParsedRoute, Problem, RouteFile, Severity, parse_route_id
from .segments import Kind, Segment

__all__ = ["Draft", "FileKey", "Group", "Notes", "Parsed", "Shape", "add_member", "file_key",
           "group_drafts", "group_files", "group_key", "members", "note_members", "note_prefixes",
           "pair_files", "parsed_key", "parse_file", "related_shapes", "route_conflicts",
           "shape_conflicts", "shape_of"]


@dataclass(slots=True)
class Draft:
    """A route being assembled before it is frozen into a ``Route``.

    PERF: slots, because a build makes one per route file.
    """

    id: str
    segments: tuple[Segment, ...]
    api: RouteFile | None = None
    page: RouteFile | None = None
    problems: list[Problem] = field(default_factory=list)
    # PERF: computed once; the conflict rules read them for every pair they compare.
    shape: Shape = field(init=False, repr=False, compare=False)
    names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    ranks: Ranks = field(init=False, repr=False, compare=False)  # see precedence.sort_key

    def __post_init__(self) -> None:
        self.shape = shape_of(self.segments)
        self.names = tuple(s.name for s in self.segments if s.kind >= _DYNAMIC)
        self.ranks = (*[s.rank for s in self.segments], END_RANK)

    def label(self) -> str:
        return " and ".join(_who(f) for f in (self.api, self.page) if f is not None)

    @classmethod
    def of(cls, p: ParsedRoute, api: RouteFile | None, page: RouteFile | None) -> Draft:
        """The draft of one parsed file (PERF: takes its shape and names as parsed)."""
        d = cls.__new__(cls)
        d.id, d.segments, d.api, d.page, d.problems = p.id, p.segments, api, page, list(p.problems)
        d.shape, d.names, d.ranks = p.shape, p.names, p.ranks
        return d

    def copy(self) -> Draft:
        """A copy whose problem list can grow without touching this one."""
        d = Draft.__new__(Draft)
        d.id, d.segments, d.api, d.page, d.problems = (self.id, self.segments, self.api, self.page,
                                                       list(self.problems))
        d.shape, d.names, d.ranks = self.shape, self.names, self.ranks
        return d


_DYNAMIC = Kind.DYNAMIC
_new_draft = object.__new__
Shape = tuple[str, ...]
# pair_files' order of files: by kind (APIs first), id, then file.
FileKey = tuple[str, str, str]
Parsed = tuple[RouteFile, ParsedRoute]
# The parsed files of one shape, sorted by ``file_key``: a lone file's ``Parsed`` itself, else a
# list of them. PERF: most shapes have one file; a build keeps one group per shape, and the
# collector walks each container it keeps (no list, and no file key tuple, per file).
Group = Parsed | list[Parsed]
# A parameter prefix -> the shapes that start with it: the one shape itself, or a set of two or
# more (PERF: most prefixes belong to one shape; no set for them).
Notes = dict[Shape, Shape | set[Shape]]


def note_members(shapes: Shape | set[Shape] | None) -> Iterable[Shape]:
    """The shapes of one entry of ``Notes`` (None: no entry)."""
    if shapes is None:
        return ()
    return shapes if isinstance(shapes, set) else (shapes,)


def members(group: Group) -> Sequence[Parsed]:
    """The parsed files of ``group``, in order."""
    return group if isinstance(group, list) else (group,)


def add_member(groups: dict[Shape, Group], shape: Shape, entry: Parsed) -> None:
    """Add ``entry`` to the group of ``shape`` (at the end: the caller keeps the order)."""
    group = groups.get(shape)
    if group is None:
        groups[shape] = entry
    elif isinstance(group, list):
        group.append(entry)
    else:
        groups[shape] = [group, entry]


def shape_of(segments: Sequence[Segment]) -> Shape:
    """The URL shape of a route: its segments with parameter names erased."""
    return tuple([s.key for s in segments])


def file_key(f: RouteFile) -> FileKey:
    return (f.kind, f.id, f.file or "")


def _who(f: RouteFile) -> str:
    return f.file if f.file is not None else f.id


def _url(shape: Sequence[str]) -> str:
    return "/" + "/".join(shape)


def pair_files(files: Iterable[RouteFile]) -> list[Draft]:
    """Group files by URL shape: an API and a page of one shape are one route (DESIGN §2).

    Files of one kind that share a shape become separate drafts, each carrying the conflict.
    Drafts come group by group, the groups in the order of their first file by ``file_key``.
    """
    groups = group_files(parse_file(f) for f in set(files))
    drafts: list[Draft] = []
    for group in groups.values():
        drafts.extend(group_drafts(group))
    return drafts


def parse_file(f: RouteFile) -> tuple[Shape, Parsed]:
    p = parse_route_id(f.id, f.file)
    return p.shape, (f, p)


def parsed_key(entry: Parsed) -> FileKey:
    return file_key(entry[0])


def group_key(group: Group) -> FileKey:
    """The ``file_key`` of the first file of ``group`` (groups are ordered by it)."""
    return file_key(group[0][0] if isinstance(group, list) else group[0])


def group_files(parsed: Iterable[tuple[Shape, Parsed]]) -> dict[Shape, Group]:
    """Parsed files by shape, each group sorted by ``file_key``, the groups by their first file's."""
    entries = sorted(parsed, key=lambda e: file_key(e[1][0]))
    groups: dict[Shape, Group] = {}
    for shape, entry in entries:
        add_member(groups, shape, entry)
    return groups


def group_drafts(group: Group) -> list[Draft]:
    """The drafts of one shape group (sorted by ``file_key``), with their pairing problems."""
    if not isinstance(group, list):  # PERF: most shapes have one file, its own route (Draft.of, inlined)
        f, p = group
        d = _new_draft(Draft)
        d.id, d.segments, d.problems, d.shape, d.names, d.ranks = p.id, p.segments, list(p.problems), \
            p.shape, p.names, p.ranks
        if f.kind == "api":
            d.api, d.page = f, None
        else:
            d.api, d.page = None, f
        return [d]
    return _drafts_for_group(group)


def _names(p: ParsedRoute) -> tuple[str, ...]:
    return p.names


def _drafts_for_group(group: list[Parsed]) -> list[Draft]:
    apis = [(f, p) for f, p in group if f.kind == "api"]
    pages = [(f, p) for f, p in group if f.kind == "page"]
    drafts: dict[str, Draft] = {}
    for f, p in apis:
        drafts[f.id] = Draft(f.id, p.segments, api=f, problems=list(p.problems))
    for f, p in pages:
        host = _host_for(f, p, apis, pages, drafts)
        if host is not None:
            host.page = f
            host.problems.extend(q for q in p.problems if q not in host.problems)
            api_names = host.names
            if api_names != _names(p):
                host.problems.append(_page_names_warning(host, api_names, _names(p)))
        else:
            key = f.id if f.id not in drafts else f"{f.id} (page)"
            drafts[key] = Draft(f.id, p.segments, page=f, problems=list(p.problems))
    return list(drafts.values())


def _host_for(f: RouteFile, p: ParsedRoute, apis: list[tuple[RouteFile, ParsedRoute]],
              pages: list[tuple[RouteFile, ParsedRoute]], drafts: dict[str, Draft]) -> Draft | None:
    """The API draft a page joins: the API of the same id, else the only one with the same
    parameter names (`users/$id` beside `users/[id]`), else the only API when the shape has one
    API and one page. None when the page stands alone (and then collides with the APIs)."""
    free = [d for d in drafts.values() if d.api is not None and d.page is None]
    same_id = [d for d in free if d.id == f.id]
    if same_id:
        return same_id[0]
    same_names = [d for d in free if d.names == _names(p)]
    if len(same_names) == 1 and not any(g.id == same_names[0].id for g, _ in pages):
        return same_names[0]
    if len(apis) == 1 and len(pages) == 1 and free:
        return free[0]
    return None


def _page_names_warning(host: Draft, api_names: tuple[str, ...], page_names: tuple[str, ...]) -> Problem:
    def spell(names: tuple[str, ...]) -> str:
        return ", ".join(f"`{n}`" for n in names)

    return _problem(
        "warning", "page-param-names-differ",
        f"{host.label()} are one route but name its parameters differently ({spell(api_names)} in the "
        f"API, {spell(page_names)} in the page); req.params uses the API's names, so rename one "
        "to match", [host])


def route_conflicts(drafts: Sequence[Draft], notes: Notes | None = None) -> None:
    """Add every conflict and note between drafts to the drafts involved (in place).

    ``notes``, if given, is filled with each parameter prefix and the shapes that start with it
    (what the name notes compare), for an incremental rebuild to find related drafts.
    """
    by_shape: dict[tuple[str, ...], list[Draft]] = defaultdict(list)
    for d in drafts:
        by_shape[d.shape].append(d)
    shape_conflicts(by_shape, notes)


# The last element of the shapes the prefix rules of ``shape_conflicts`` start from.
_OPTIONAL_ENDS = frozenset({":rest*?", ":param?"})


def shape_conflicts(by_shape: Mapping[Shape, Sequence[Draft]],
                    notes: Notes | None = None) -> None:
    """``route_conflicts`` over drafts already grouped by shape (``by_shape[d.shape]`` holds ``d``),
    the groups in the order of their drafts: what a build has at hand, without grouping again."""
    for shape, same in by_shape.items():
        if len(same) > 1:
            _add(same, _same_shape(shape, same))
    # PERF: only a shape ending in an optional part can start a prefix rule; the others are
    # skipped in one pass (their order among themselves is kept).
    for shape in [s for s in by_shape if s and s[-1] in _OPTIONAL_ENDS]:
        same = by_shape[shape]
        last = same[0].segments[-1] if same[0].segments else None
        prefix = shape[:-1]
        if last is not None and last.kind is Kind.OPTIONAL_CATCHALL:
            for other in by_shape.get(prefix, []):
                _add([other, *same], _index_beside_optional_catchall(prefix, other, same, last))
            for other in by_shape.get((*prefix, ":rest*"), []):
                _add([other, *same], _two_catchalls(prefix, [other, *same]))
        if last is not None and last.kind is Kind.OPTIONAL:
            for other in by_shape.get(prefix, []):
                group = [other, *same]
                _add(group, _problem(
                    "note", "index-beside-optional",
                    f"{_labels(group)} {_both(group)} match {_url(prefix)}; {other.id} wins it "
                    "(a route that ends there outranks an optional segment)", group))
    _name_notes(by_shape, notes)


def related_shapes(shape: Shape) -> list[Shape]:
    """The shapes whose drafts the prefix rules of ``route_conflicts`` compare with ``shape``'s.

    Symmetric, and over-inclusive on purpose (it reads the shape text, not segment kinds): an
    incremental rebuild recomputes the problems of every draft related to a changed one.
    """
    related = [shape + (":rest*?",), shape + (":param?",)]
    if shape:
        last, prefix = shape[-1], shape[:-1]
        if last in (":rest*?", ":param?"):
            related.append(prefix)
        if last == ":rest*?":
            related.append((*prefix, ":rest*"))
        if last == ":rest*":
            related.append((*prefix, ":rest*?"))
    return related


def note_prefixes(shape: Shape) -> list[Shape]:
    """The prefixes ``_name_notes`` groups drafts by (those ending in a parameter, or more)."""
    return [shape[: i + 1] for i, part in enumerate(shape) if part.startswith(":")]


def _same_shape(shape: tuple[str, ...], same: Sequence[Draft]) -> Problem:
    if same[0].segments and same[0].segments[-1].kind.is_catchall:
        return _two_catchalls(shape[:-1], same)
    names = sorted({d.names for d in same})
    detail = ""
    if len(names) > 1:
        spelled = " and ".join(", ".join(f"`{n}`" for n in ns) for ns in names)
        detail = f" (their parameters are named {spelled}, but names do not tell URLs apart)"
    return _problem("error", "duplicate-route",
                    f"{_labels(same)} {_both(same)} map to {_url(shape)}{detail}; keep one of them",
                    same)


def _two_catchalls(prefix: tuple[str, ...], group: Sequence[Draft]) -> Problem:
    return _problem("error", "two-catchalls",
                    f"{_labels(group)} are {_count(group)} catch-alls at one level ({_url((*prefix, '…'))}); "
                    "keep one", group)


def _index_beside_optional_catchall(prefix: tuple[str, ...], other: Draft, same: Sequence[Draft],
                                    last: Segment) -> Problem:
    group = [other, *same]
    return _problem(
        "error", "index-beside-optional-catchall",
        f"{_labels(group)} {_both(group)} answer {_url(prefix)}: an optional catch-all also matches "
        f"zero segments; remove one, or make the catch-all required (`[...{last.name}]`)", group)


def _name_notes(by_shape: Mapping[Shape, Sequence[Draft]], notes: Notes | None) -> None:
    """Note routes that name one dynamic position differently (`users/[id]`, `users/[uid]/posts`)."""
    # NOTE: a prefix ending in a parameter's shape (`:param`, `:rest*`, ...) names its kind too.
    # A prefix -> its first draft, or once a second name is seen there, each name's first draft.
    seen: dict[tuple[str, ...], Draft | dict[str, Draft]] = {}
    for shape, same in by_shape.items():
        for d in same:
            if not d.names:
                continue
            for i, seg in enumerate(d.segments):
                name = seg.param
                if not name:
                    continue
                prefix = shape[: i + 1]
                # PERF: most prefixes belong to one route: one lookup, and a dict only for a
                # prefix named two ways.
                named = seen.get(prefix)
                if named is None:
                    seen[prefix] = d
                elif isinstance(named, dict):
                    if name not in named:
                        named[name] = d
                else:
                    first = named.segments[i].param
                    if name != first:
                        seen[prefix] = {first: named, name: d}
                if notes is not None:
                    shapes = notes.get(prefix)
                    if shapes is None:
                        notes[prefix] = shape
                    elif isinstance(shapes, set):
                        shapes.add(shape)
                    elif shapes != shape:
                        notes[prefix] = {shapes, shape}
    for prefix, named in seen.items():
        if isinstance(named, dict):
            group = list(named.values())
            if len({d.shape for d in group}) > 1:
                names = ", ".join(f"`{n}`" for n in sorted(named))
                _add(group, _problem(
                    "note", "param-names-differ",
                    f"{_labels(group)} name the parameter at {_url(prefix)} differently ({names}); "
                    "allowed: each route gets its own names", group))


def _both(drafts: Sequence[Draft]) -> str:
    files = sum((d.api is not None) + (d.page is not None) for d in drafts)
    return "both" if files == 2 else "all"


def _count(drafts: Sequence[Draft]) -> str:
    return {2: "two", 3: "three"}.get(len(drafts), str(len(drafts)))


def _labels(drafts: Sequence[Draft]) -> str:
    return " and ".join(d.label() for d in drafts)


def _problem(severity: Severity, rule: str, message: str, drafts: Sequence[Draft]) -> Problem:
    files = tuple(_who(f) for d in drafts for f in (d.api, d.page) if f is not None and f.file)
    return Problem(severity, rule, message, tuple(d.id for d in drafts), files)


def _add(drafts: Sequence[Draft], problem: Problem) -> None:
    for d in drafts:
        if problem not in d.problems:
            d.problems.append(problem)
