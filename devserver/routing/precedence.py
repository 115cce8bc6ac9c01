"""Precedence as one sort key, computed once per route (DESIGN §2).

Compare two routes segment by segment from the left; at the first position where they differ,
route ends here > static > dynamic > optional > catch-all > optional catch-all. Parameter names
never take part (two routes of one shape are a conflict, not an order), and the route id breaks
the remaining ties so the order never depends on file-listing order.
"""

from __future__ import annotations

from collections.abc import Sequence

from .segments import Kind, Segment

__all__ = ["END_RANK", "Ranks", "SortKey", "sort_key"]

Ranks = tuple[tuple[int, str], ...]  # each segment's Segment.rank, then END_RANK
SortKey = tuple[Ranks, str]

# The rank of "the route ends here", after a route's last segment: it outranks every segment.
END_RANK = (int(Kind.END), "")


def sort_key(route_id: str, segments: Sequence[Segment]) -> SortKey:
    """The key that puts routes in precedence order.

    >>> from devserver.routing.segments import parse_segment as p
    >>> sort_key("a/b/[y]", [p("a"), p("b"), p("[y]")]) < sort_key("a/[x]/c", [p("a"), p("[x]"), p("c")])
    True
    """
    # NOTE: see Segment.rank: static text only makes the order total.
    return (*[s.rank for s in segments], END_RANK), route_id
