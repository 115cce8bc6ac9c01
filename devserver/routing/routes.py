"""Route ids, route files, problems and the ``Route`` record the table is made of.

A *route id* is a file path under ``app/api`` (or ``app/pages``) without its extension:
``users/[id]``, ``docs/$$``, ``posts/index``. Parsing one is pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, NamedTuple, cast

from .precedence import END_RANK
from .segments import Kind, Segment, SegmentError, looks_like_parameter, parse_segment

__all__ = [
    "RouteFile",
    "Route",
    "Problem",
    "Severity",
    "ParsedRoute",
    "parse_route_id",
    "RESERVED_PREFIXES",
]

Severity = Literal["error", "warning", "note"]

# DESIGN §6: these URL prefixes belong to devserver itself.
RESERVED_PREFIXES = ("__routes", "__devserver")


@dataclass(frozen=True, slots=True)
class RouteFile:
    """One file that defines a route: an API module or a page template.

    ``file`` is the path to show to people (``app/api/users/[id].py``); it is None when a
    route set is built from bare ids, as in ``build_table(["users/[id]"])``.
    """

    id: str
    kind: Literal["api", "page"] = "api"
    file: str | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """A finding about the route set: an error (the route answers 500), a warning or a note.

    ``rule`` is a stable identifier for tools; ``message`` is the sentence shown to people and
    always names the files (or route ids) involved.
    """

    severity: Severity
    rule: str
    message: str
    routes: tuple[str, ...]
    files: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "rule": self.rule,
            "message": self.message,
            "routes": list(self.routes),
            "files": list(self.files),
        }


class ParsedRoute(NamedTuple):
    """A route id split into segments, with the problems found in the id alone.

    PERF: a named tuple, made in one C call: a build makes one per route file.
    """

    id: str
    segments: tuple[Segment, ...]
    problems: tuple[Problem, ...]
    shape: tuple[str, ...] = ()  # each segment's Segment.key
    names: tuple[str, ...] = ()  # the parameter names, left to right
    # Each segment's Segment.rank, then END_RANK: the first part of ``precedence.sort_key``.
    ranks: tuple[tuple[int, str], ...] = ()

    @property
    def valid(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


@dataclass(frozen=True, slots=True)
class Route:
    """One route of the table: its segments, files and problems.

    NOTE: a route's rank (its place in precedence order) is not stored here but is its position
    in ``RouteTable.routes`` (``RouteTable.rank``): a rebuild after one file is added shifts the
    rank of every route after it, and keeping ranks out lets the new table reuse the old table's
    ``Route`` records and trie instead of making 10,000 new ones.
    """

    id: str
    segments: tuple[Segment, ...]
    has_api: bool = True
    has_page: bool = False
    api_file: str | None = None
    page_file: str | None = None
    # The page's own id when it is spelled differently (`users/$id` API, `users/[id]` page).
    page_id: str | None = None
    problems: tuple[Problem, ...] = field(default=())

    @property
    def pattern(self) -> str:
        """The URL pattern as written in the files: ``/users/[id]``, ``/docs/$$``."""
        return "/" + "/".join(s.text for s in self.segments)

    @property
    def shape(self) -> str:
        return "/" + "/".join(s.shape() for s in self.segments)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def status(self) -> str:
        """ok / warning / conflict / error: the route's standing in the table (modules aside).

        ``conflict`` when it collides with another route, ``error`` when its own name breaks a rule.
        """
        if any(len(p.routes) > 1 for p in self.errors):
            return "conflict"
        if self.errors:
            return "error"
        if any(p.severity == "warning" for p in self.problems):
            return "warning"
        return "ok"

    @property
    def params(self) -> tuple[tuple[str, str], ...]:
        """Each parameter's name and kind label, left to right."""
        return tuple((s.name, s.kind.label) for s in self.segments if s.kind.is_param)

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(f for f in (self.api_file, self.page_file) if f is not None)


# PERF: ``Route(...)`` runs the frozen dataclass's __init__, which stores each field through
# ``object.__setattr__`` from Python; a build makes a route per file. ``make_route`` fills a
# mutable twin with the same slots (plain stores) and then gives it the frozen class: the layouts
# are the same, so CPython allows the class assignment (``request.make_req`` does the same).
class _RouteTwin:
    __slots__ = Route.__slots__


class _FileTwin:
    __slots__ = RouteFile.__slots__


def make_route(id: str, segments: tuple[Segment, ...], has_api: bool, has_page: bool,  # noqa: A002
               api_file: str | None, page_file: str | None, page_id: str | None,
               problems: tuple[Problem, ...]) -> Route:
    """The same as ``Route(id, segments, ...)`` with every field given, made faster."""
    route: Any = _RouteTwin()
    route.id = id
    route.segments = segments
    route.has_api = has_api
    route.has_page = has_page
    route.api_file = api_file
    route.page_file = page_file
    route.page_id = page_id
    route.problems = problems
    route.__class__ = Route
    return cast(Route, route)


def api_file(route_id: str) -> RouteFile:
    """``RouteFile(route_id)`` (an API with no file name), made faster like ``make_route``."""
    f: Any = _FileTwin()
    f.id = route_id
    f.kind = "api"
    f.file = None
    f.__class__ = RouteFile
    return cast(RouteFile, f)


def _label(route_id: str, file: str | None) -> str:
    return file if file is not None else route_id


def parse_route_id(route_id: str, file: str | None = None) -> ParsedRoute:
    """Split ``route_id`` into segments and find what is wrong with it on its own.

    >>> [s.text for s in parse_route_id("users/[id]/index").segments]
    ['users', '[id]']
    """
    parts = route_id.split("/")
    if "" in parts:
        parts = [p for p in parts if p != ""]
    if parts and parts[-1] == "index":
        # NOTE: only the final *file* named index is the folder itself; a folder named
        # `index` stays static text (DESIGN §2).
        parts.pop()
    # PERF: the common case, a route with nothing to report, in one pass over its segments with
    # one cache lookup each: a build parses every route id, and this was its largest cost.
    segments: list[Segment] = []
    keys: list[str] = []
    ranks: list[tuple[int, str]] = []
    names: list[str] = []
    last = False
    for part in parts:
        plain = _plain_segment(part)
        if plain is None or last:  # `last`: the segment before is optional or a catch-all
            return _parse_with_problems(route_id, file, parts)
        segment, key, rank, name, last = plain
        segments.append(segment)
        keys.append(key)
        ranks.append(rank)
        if name:
            names.append(name)
    if len(names) > 1 and len(set(names)) != len(names):
        return _parse_with_problems(route_id, file, parts)
    if segments and segments[0].name.startswith(RESERVED_PREFIXES):
        return _parse_with_problems(route_id, file, parts)
    return _new_parsed(ParsedRoute, (route_id, tuple(segments), (), tuple(keys), tuple(names),
                                     (*ranks, END_RANK)))


def _parse_with_problems(route_id: str, file: str | None, parts: list[str]) -> ParsedRoute:
    """``parse_route_id`` for a route that may break a rule (the problems in order of the rules)."""
    segments: list[Segment] = []
    problems: list[Problem] = []
    for part in parts:
        parsed, mixed = _parse_cached(part)
        if mixed or not isinstance(parsed, Segment):
            parsed = _segment_problem(parsed, part, route_id, file, problems)
        segments.append(parsed)
    names = tuple([s.name for s in segments if s.kind >= _DYNAMIC])
    if not _obeys_rules(segments, names):
        problems.extend(_structure_problems(route_id, _label(route_id, file), file, segments))
    return _new_parsed(ParsedRoute, (route_id, tuple(segments), tuple(problems),
                                     tuple([s.key for s in segments]), names,
                                     (*[s.rank for s in segments], END_RANK)))


def _segment_problem(parsed: Segment | SegmentError, part: str, route_id: str, file: str | None,
                     problems: list[Problem]) -> Segment:
    """Record what is wrong with one segment (malformed, or static text that looks like a
    parameter); return the segment to keep (malformed ones are kept as static text)."""
    who = _label(route_id, file)
    if isinstance(parsed, SegmentError):
        problems.append(Problem("error", "malformed-segment", f"{who}: {parsed.reason}",
                                (route_id,), _files(file)))
        # Keep the text as static so the route still has a shape to show and to match.
        return Segment(Kind.STATIC, part, part)
    problems.append(Problem(
        "warning", "mixed-segment",
        f"{who}: `{part}` is matched as static text; a parameter must be the whole "
        f"segment (`[id]` or `$id`), so `{part}` only matches the URL text `{part}`",
        (route_id,), _files(file)))
    return parsed


_new_parsed = tuple.__new__


@lru_cache(maxsize=8192)
def _parse_cached(part: str) -> tuple[Segment | SegmentError, bool]:
    """``parse_segment`` and whether a static result looks like a parameter, once per spelling.

    PERF: the same spellings (`[id]`, `index`, `repos`) recur across thousands of route ids;
    both results are immutable, so sharing them is safe.
    """
    parsed = parse_segment(part)
    mixed = isinstance(parsed, Segment) and parsed.kind is Kind.STATIC and looks_like_parameter(part)
    return parsed, mixed


# What ``parse_route_id`` takes from a segment: the segment, its key, its rank, its parameter
# name ("" for static text) and whether only optional segments may follow it.
_Plain = tuple[Segment, str, tuple[int, str], str, bool]


@lru_cache(maxsize=8192)
def _plain_segment(part: str) -> _Plain | None:
    """What ``parse_route_id`` needs of ``part`` when there is nothing to report about it alone
    (else None), once per spelling, like ``_parse_cached``."""
    parsed = parse_segment(part)
    if not isinstance(parsed, Segment) or (parsed.kind is Kind.STATIC and looks_like_parameter(part)):
        return None
    return parsed, parsed.key, parsed.rank, parsed.param, parsed.kind >= _OPTIONAL


def _files(file: str | None) -> tuple[str, ...]:
    return (file,) if file is not None else ()


_DYNAMIC, _OPTIONAL = Kind.DYNAMIC, Kind.OPTIONAL


def _obeys_rules(segments: list[Segment], names: tuple[str, ...]) -> bool:
    """True when no rule of ``_structure_problems`` can apply (PERF: the common case, cheaply).

    Only the last segment may be optional or a catch-all, parameter names are distinct, and the
    first segment is not reserved.
    """
    if names:
        if any(s.kind >= _OPTIONAL for s in segments[:-1]):
            return False
        if len(names) > 1 and len(set(names)) != len(names):
            return False
    return not (segments and segments[0].name.startswith(RESERVED_PREFIXES))


def _structure_problems(route_id: str, who: str, file: str | None,
                        segments: list[Segment]) -> list[Problem]:
    """Rules about the order and names of segments within one route (DESIGN §2)."""
    problems: list[Problem] = []
    files = _files(file)

    def error(rule: str, message: str) -> None:
        problems.append(Problem("error", rule, f"{who}: {message}", (route_id,), files))

    if segments and segments[0].kind is Kind.STATIC and segments[0].name.startswith(RESERVED_PREFIXES):
        error("reserved-path", f"`/{segments[0].name}` is reserved for devserver "
                               "(`/__routes` and `/__devserver/`); rename the file or folder")
    # NOTE: each rule is reported once, at its first offence, and every rule is checked, so a
    # user who fixes one does not discover the next only on the following reload.
    catchall = next((i for i, s in enumerate(segments[:-1]) if s.kind.is_catchall), None)
    if catchall is not None:
        error("catchall-not-last", f"catch-all `{segments[catchall].text}` must be the last segment, "
                                   f"but `{segments[catchall + 1].text}` follows it")
    optional_at: Segment | None = None
    for seg in segments:
        if optional_at is not None and not seg.kind.is_optional:
            error("required-after-optional",
                  f"{seg.kind.label} segment `{seg.text}` follows the optional `{optional_at.text}`; "
                  "only optional segments may follow an optional one")
            break
        if seg.kind.is_optional:
            optional_at = seg
    names = [s.name for s in segments if s.kind.is_param]
    for name in dict.fromkeys(n for n in names if names.count(n) > 1):
        error("duplicate-param", f"parameter name `{name}` is used twice")
    return problems
