"""The immutable route table: build it from route ids or files, match paths, explain outcomes.

>>> table = build_table(["users/[id]", "docs/[...path]", "index"])
>>> m = table.match("/users/42")
>>> (m.route, m.params)
('users/[id]', {'id': '42'})
>>> table.match("/nope/x") is None
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .conflicts import Draft, pair_files, route_conflicts
from .explain import Explanation, explain_path
from .matcher import Match, Matcher
from .paths import InvalidPath, normalize_raw, split_path
from .precedence import sort_key
from .routes import Problem, Route, RouteFile

__all__ = ["RouteTable", "build_table"]

_SEVERITY_ORDER = {"error": 0, "warning": 1, "note": 2}


class RouteTable:
    """Routes in precedence order, the problems found in them, and a compiled matcher.

    Built once per change of the route files and never mutated: a reload builds a new table
    and swaps the reference, so requests in flight finish on the table they started with.
    """

    __slots__ = ("routes", "problems", "_by_id", "_matcher")

    def __init__(self, routes: tuple[Route, ...], problems: tuple[Problem, ...]) -> None:
        self.routes = routes
        self.problems = problems
        self._by_id = {r.id: r for r in routes}
        self._matcher = Matcher(routes)

    def __len__(self) -> int:
        return len(self.routes)

    def __repr__(self) -> str:
        return f"<RouteTable {len(self.routes)} routes, {len(self.problems)} problems>"

    def get(self, route_id: str) -> Route | None:
        return self._by_id.get(route_id)

    def match(self, path: str) -> Match | None:
        """The route that answers ``path`` (raw, percent-encoded; a query is ignored), or None.

        Raises :class:`InvalidPath` for invalid percent-encoding (the server answers 400).
        """
        return self._matcher.match(path)

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
            "routes": [route_dict(r) for r in self.routes],
            "problems": [p.as_dict() for p in self.problems],
        }


def route_dict(route: Route) -> dict[str, object]:
    return {
        "rank": route.rank,
        "id": route.id,
        "pattern": route.pattern,
        "shape": route.shape,
        "api_file": route.api_file,
        "page_file": route.page_file,
        "params": [{"name": n, "kind": k} for n, k in route.params],
        "status": route.status,
        "problems": [p.as_dict() for p in route.problems],
    }


def build_table(entries: Iterable[str | RouteFile]) -> RouteTable:
    """Build a table from route ids (``"users/[id]"``) or :class:`RouteFile` records.

    Never raises for a bad route set: invalid and conflicting routes become :class:`Problem`
    records on ``table.problems`` and on each route involved (those routes answer 500).
    """
    files = [e if isinstance(e, RouteFile) else RouteFile(e) for e in entries]
    drafts = pair_files(files)
    route_conflicts(drafts)
    drafts.sort(key=lambda d: sort_key(d.id, d.segments))
    routes = tuple(_freeze(d, rank) for rank, d in enumerate(drafts, start=1))
    problems: dict[Problem, None] = {}
    for route in routes:
        problems.update(dict.fromkeys(route.problems))
    ordered = sorted(problems, key=lambda p: (_SEVERITY_ORDER[p.severity], p.routes, p.rule))
    return RouteTable(routes, tuple(ordered))


def _freeze(d: Draft, rank: int) -> Route:
    page_id = d.page.id if d.page is not None else None
    return Route(
        id=d.id,
        segments=d.segments,
        rank=rank,
        has_api=d.api is not None,
        has_page=d.page is not None,
        api_file=d.api.file if d.api is not None else None,
        page_file=d.page.file if d.page is not None else None,
        page_id=page_id,
        problems=tuple(d.problems),
    )
