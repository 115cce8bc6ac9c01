"""Pairing API and page files into routes, and the conflicts between routes (DESIGN §2).

Files in, routes and problem records out. Every rule has its own sentence naming the files and
the URL shape they collide on; nothing here raises, because a conflict never stops the server.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .routes import ParsedRoute, Problem, RouteFile, Severity, parse_route_id
from .segments import Kind, Segment

__all__ = ["Draft", "pair_files", "route_conflicts"]


@dataclass
class Draft:
    """A route being assembled before it is ranked and frozen into a ``Route``."""

    id: str
    segments: tuple[Segment, ...]
    api: RouteFile | None = None
    page: RouteFile | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def shape(self) -> tuple[str, ...]:
        return tuple(s.shape() for s in self.segments)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.segments if s.kind.is_param)

    def label(self) -> str:
        return " and ".join(_who(f) for f in (self.api, self.page) if f is not None)


def _who(f: RouteFile) -> str:
    return f.file if f.file is not None else f.id


def _url(shape: Sequence[str]) -> str:
    return "/" + "/".join(shape)


def pair_files(files: Iterable[RouteFile]) -> list[Draft]:
    """Group files by URL shape and parameter names: an API and a page of one shape are one route.

    Files of one kind that share a shape become separate drafts, each carrying the conflict.
    """
    parsed: dict[tuple[tuple[str, ...], tuple[str, ...]], list[tuple[RouteFile, ParsedRoute]]]
    parsed = defaultdict(list)
    for f in sorted(set(files), key=lambda f: (f.kind, f.id, f.file or "")):
        p = parse_route_id(f.id, f.file)
        key = (tuple(s.shape() for s in p.segments),
               tuple(s.name for s in p.segments if s.kind.is_param))
        parsed[key].append((f, p))
    drafts: list[Draft] = []
    for group in parsed.values():
        drafts.extend(_drafts_for_group(group))
    return drafts


def _drafts_for_group(group: list[tuple[RouteFile, ParsedRoute]]) -> list[Draft]:
    apis = [(f, p) for f, p in group if f.kind == "api"]
    pages = [(f, p) for f, p in group if f.kind == "page"]
    drafts: dict[str, Draft] = {}
    for f, p in apis:
        drafts[f.id] = Draft(f.id, p.segments, api=f, problems=list(p.problems))
    for f, p in pages:
        # The page pairs with the API of the same id, or with the only API of its shape.
        host = drafts.get(f.id)
        if host is None and len(apis) == 1 and len(pages) == 1:
            host = drafts[apis[0][0].id]
        if host is not None and host.page is None:
            host.page = f
            host.problems.extend(q for q in p.problems if q not in host.problems)
        else:
            key = f.id if f.id not in drafts else f"{f.id} (page)"
            drafts[key] = Draft(f.id, p.segments, page=f, problems=list(p.problems))
    return list(drafts.values())


def route_conflicts(drafts: Sequence[Draft]) -> None:
    """Add every conflict and note between drafts to the drafts involved (in place)."""
    by_shape: dict[tuple[str, ...], list[Draft]] = defaultdict(list)
    for d in drafts:
        by_shape[d.shape].append(d)
    for shape, same in by_shape.items():
        if len(same) > 1:
            _add(same, _same_shape(shape, same))
    for shape, same in by_shape.items():
        prefix = shape[:-1]
        if same[0].segments and same[0].segments[-1].kind is Kind.OPTIONAL_CATCHALL:
            for other in by_shape.get(prefix, []):
                _add([other, *same], _problem(
                    "error", "index-beside-optional-catchall",
                    f"{other.label()} and {_labels(same)} both answer {_url(prefix)}: an optional "
                    "catch-all also matches zero segments; remove one, or make the catch-all "
                    f"required (`[...{same[0].segments[-1].name}]`)", [other, *same]))
            for other in by_shape.get((*prefix, ":rest*"), []):
                _add([other, *same], _problem(
                    "error", "two-catchalls",
                    f"{other.label()} and {_labels(same)} are two catch-alls at one level "
                    f"({_url(prefix)}/…); keep one", [other, *same]))
        if same[0].segments and same[0].segments[-1].kind is Kind.OPTIONAL:
            for other in by_shape.get(prefix, []):
                _add([other, *same], _problem(
                    "note", "index-beside-optional",
                    f"{other.label()} and {_labels(same)} both match {_url(prefix)}; "
                    f"{other.id} wins it (a route that ends there outranks an optional segment)",
                    [other, *same]))
    _name_notes(drafts)


def _same_shape(shape: tuple[str, ...], same: list[Draft]) -> Problem:
    names = {d.names for d in same}
    if len(names) > 1:
        spelled = ", ".join("(" + ", ".join(f"`{n}`" for n in ns) + ")" for ns in sorted(names))
        detail = f"but name their parameters differently {spelled}; give them one name"
    else:
        detail = "; keep one of them"
    return _problem("error", "duplicate-route",
                    f"{_labels(same)} both map to {_url(shape)} {detail}".replace(" ;", ";"), same)


def _name_notes(drafts: Sequence[Draft]) -> None:
    """Note routes that name one dynamic position differently (`users/[id]`, `users/[uid]/posts`)."""
    seen: dict[tuple[tuple[str, ...], str], dict[str, Draft]] = defaultdict(dict)
    for d in drafts:
        for i, seg in enumerate(d.segments):
            if seg.kind.is_param:
                seen[(d.shape[: i + 1], seg.kind.label)].setdefault(seg.name, d)
    for (prefix, _kind), named in seen.items():
        group = list(named.values())
        if len(named) > 1 and len({d.shape for d in group}) > 1:
            names = ", ".join(f"`{n}`" for n in sorted(named))
            _add(group, _problem(
                "note", "param-names-differ",
                f"{_labels(group)} name the parameter at {_url(prefix)} differently ({names}); "
                "allowed: each route gets its own names", group))


def _labels(drafts: Sequence[Draft]) -> str:
    return " and ".join(d.label() for d in drafts)


def _problem(severity: Severity, rule: str, message: str, drafts: Sequence[Draft]) -> Problem:
    files = tuple(_who(f) for d in drafts for f in (d.api, d.page) if f is not None and f.file)
    return Problem(severity, rule, message, tuple(d.id for d in drafts), files)


def _add(drafts: Sequence[Draft], problem: Problem) -> None:
    for d in drafts:
        if problem not in d.problems:
            d.problems.append(problem)
