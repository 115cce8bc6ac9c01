"""Content negotiation between HTML and JSON (DESIGN §4).

JSON when the client's ``Accept`` prefers ``application/json`` (or any ``+json`` type) over
``text/html`` by q-value; HTML otherwise, including ``*/*`` and no ``Accept`` at all. For each of
the two, the most specific range in the header decides its quality (RFC 9110 §12.5.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

__all__ = ["Preference", "preference"]


@dataclass(frozen=True, slots=True)
class Preference:
    """How much a client wants HTML and JSON (0 = not acceptable)."""

    html: float
    json: float
    # PERF: worked out once (preference() caches its answers), not by a property on every read.
    wants_json: bool = field(init=False, repr=False, compare=False)
    html_acceptable: bool = field(init=False, repr=False, compare=False)
    # HTML acceptable, and JSON not preferred: a route with a page and an API answers HTML.
    prefers_html: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "wants_json", self.json > self.html)
        object.__setattr__(self, "html_acceptable", self.html > 0)
        object.__setattr__(self, "prefers_html", self.html_acceptable and not self.wants_json)


_NO_HEADER = Preference(1.0, 0.5)


@lru_cache(maxsize=256)
def preference(accept: str | None) -> Preference:
    """Parse an ``Accept`` header into a :class:`Preference`.

    PERF: clients send the same few headers over and over; the cache makes this a dict lookup.

    >>> preference("application/json").wants_json
    True
    >>> preference("text/html,application/xhtml+xml,*/*;q=0.8").wants_json
    False
    """
    if not accept or not accept.strip():
        return _NO_HEADER
    html: tuple[int, float] = (-1, 0.0)  # (specificity, q)
    json: tuple[int, float] = (-1, 0.0)
    for item in accept.split(","):
        media, q = _parse_item(item)
        if media is None:
            continue
        kind, _, sub = media.partition("/")
        html = _better(html, _specificity(kind, sub, "text", "html", False), q)
        json = _better(json, _specificity(kind, sub, "application", "json", True), q)
    return Preference(html[1], json[1])


def _parse_item(item: str) -> tuple[str | None, float]:
    parts = item.split(";")
    media = parts[0].strip().lower()
    if "/" not in media:
        return None, 0.0
    q = 1.0
    for param in parts[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                q = min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                q = 0.0  # a malformed q-value makes the range unusable, not the request
    return media, q


def _specificity(kind: str, sub: str, want_kind: str, want_sub: str, suffix_ok: bool) -> int:
    """How specifically ``kind/sub`` names the wanted type: 3 exact, 2 ``+json``, 1 ``t/*``, 0 ``*/*``."""
    if kind == want_kind and sub == want_sub:
        return 3
    if suffix_ok and sub.endswith("+" + want_sub) and kind in (want_kind, "*"):
        return 2
    if kind == want_kind and sub == "*":
        return 1
    if kind == "*" and sub == "*":
        return 0
    return -1


def _better(current: tuple[int, float], specificity: int, q: float) -> tuple[int, float]:
    if specificity < 0:
        return current
    if specificity > current[0]:
        return specificity, q
    if specificity == current[0]:
        return specificity, max(current[1], q)
    return current
