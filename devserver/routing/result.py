"""What a match gives: the winning route, its parameter values and its :class:`Route`."""

from __future__ import annotations

from collections.abc import Iterator

from .routes import Route

__all__ = ["Match"]


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
