"""Parsing one path segment of a route file name into a :class:`Segment`.

A segment is a whole folder name, or the final file name without its extension
(DESIGN §2). Parsing is pure: text in, a ``Segment`` or a ``SegmentError`` out.

>>> parse_segment("[id]")
Segment(kind=<Kind.DYNAMIC: 2>, text='[id]', name='id')
>>> parse_segment("$$").name
'proxy'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum

__all__ = ["Kind", "Segment", "SegmentError", "parse_segment", "looks_like_parameter"]


class Kind(IntEnum):
    """Segment kinds, numbered in precedence order (lower wins).

    NOTE: ``END`` is not a segment kind a file can spell; it is the rank of "the route ends
    here", which beats every segment at the same position (DESIGN §2 precedence).
    """

    END = 0
    STATIC = 1
    DYNAMIC = 2
    OPTIONAL = 3
    CATCHALL = 4
    OPTIONAL_CATCHALL = 5

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def is_param(self) -> bool:
        return self >= Kind.DYNAMIC

    @property
    def is_optional(self) -> bool:
        return self in (Kind.OPTIONAL, Kind.OPTIONAL_CATCHALL)

    @property
    def is_catchall(self) -> bool:
        return self in (Kind.CATCHALL, Kind.OPTIONAL_CATCHALL)


_LABELS = {
    Kind.END: "end",
    Kind.STATIC: "static",
    Kind.DYNAMIC: "dynamic",
    Kind.OPTIONAL: "optional",
    Kind.CATCHALL: "catch-all",
    Kind.OPTIONAL_CATCHALL: "optional catch-all",
}


@dataclass(frozen=True, slots=True)
class Segment:
    """One parsed segment: its kind, the text as written, and the static text or parameter name."""

    kind: Kind
    text: str
    name: str
    # PERF: derived once here, read for every route by the conflict rules and the sort key.
    key: str = field(init=False, repr=False, compare=False)  # see shape()
    rank: tuple[int, str] = field(init=False, repr=False, compare=False)  # see precedence.py
    param: str = field(init=False, repr=False, compare=False)  # the name if a parameter, else ""

    def __post_init__(self) -> None:
        static = self.kind is Kind.STATIC
        object.__setattr__(self, "key", self.name if static else _SHAPES[self.kind])
        # NOTE: static text is part of the rank only to make the order total; two different
        # static segments can never both match one path segment, so their order is never seen.
        object.__setattr__(self, "rank", (int(self.kind), self.name if static else ""))
        object.__setattr__(self, "param", "" if static else self.name)

    def shape(self) -> str:
        """The segment with parameter names erased: two routes of one shape match the same URLs."""
        return self.key


_SHAPES = {
    Kind.DYNAMIC: ":param",
    Kind.OPTIONAL: ":param?",
    Kind.CATCHALL: ":rest*",
    Kind.OPTIONAL_CATCHALL: ":rest*?",
}


@dataclass(frozen=True, slots=True)
class SegmentError:
    """Why a segment could not be parsed (a malformed bracket or an invalid parameter name)."""

    text: str
    reason: str


_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_BRACKETS = (
    (re.compile(rf"\[\[\.\.\.({_IDENT})\]\]"), Kind.OPTIONAL_CATCHALL),
    (re.compile(rf"\[\[({_IDENT})\]\]"), Kind.OPTIONAL),
    (re.compile(rf"\[\.\.\.({_IDENT})\]"), Kind.CATCHALL),
    (re.compile(rf"\[({_IDENT})\]"), Kind.DYNAMIC),
)
_DOLLAR = re.compile(rf"\$({_IDENT})")
# `$$` or `$name` followed by more text: a parameter spelling that is not the whole segment.
_DOLLAR_PREFIX = re.compile(rf"\$(?:\$|{_IDENT})")
# A segment that contains something parameter-like but is not wholly one: static text, with a warning.
_MIXED = re.compile(rf"\[\[?(?:\.\.\.)?{_IDENT}\]\]?|\$(?:\$|{_IDENT})")


def parse_segment(text: str) -> Segment | SegmentError:
    """Parse one segment as written in a file or folder name.

    A segment is a parameter only when the whole segment is one; one that merely starts with a
    parameter (`[category]-sale`, `$id.json`) is static text, like `book-[id]` (DESIGN §2).
    """
    if text == "$$":
        return Segment(Kind.CATCHALL, text, "proxy")
    if text.startswith("$"):
        m = _DOLLAR.fullmatch(text)
        if m is not None:
            return Segment(Kind.DYNAMIC, text, m.group(1))
        if _DOLLAR_PREFIX.match(text):
            return Segment(Kind.STATIC, text, text)
        return SegmentError(text, f"`{text}` is not a valid parameter: after `$` comes a name "
                                  "made of letters, digits and `_` that does not start with a digit")
    if text.startswith("["):
        for pattern, kind in _BRACKETS:
            m = pattern.fullmatch(text)
            if m is not None:
                return Segment(kind, text, m.group(1))
        balanced = text.count("[") == text.count("]")
        if balanced and any(pattern.match(text) for pattern, _kind in _BRACKETS):
            return Segment(Kind.STATIC, text, text)
        return SegmentError(text, _bracket_reason(text))
    return Segment(Kind.STATIC, text, text)


def _bracket_reason(text: str) -> str:
    """Say what is wrong with a segment that starts with `[` but is no valid parameter."""
    inner = text.strip("[]").removeprefix("...")
    if text.count("[") != text.count("]"):
        return f"malformed bracket in `{text}`: the brackets are not balanced"
    dots = text.lstrip("[")
    if dots.startswith(".") and not dots.startswith("..."):
        spelled = "[[...name]]" if text.startswith("[[") else "[...name]"
        return f"malformed bracket in `{text}`: a catch-all is spelled `{spelled}`"
    if not text.endswith("]"):
        return f"malformed bracket in `{text}`: a parameter must be the whole segment"
    if not re.fullmatch(_IDENT, inner):
        return (f"`{text}` is not a valid parameter: `{inner}` is not a name made of letters, "
                "digits and `_` that does not start with a digit")
    return f"malformed bracket in `{text}`"


def looks_like_parameter(text: str) -> bool:
    """True for static text that contains a parameter spelling, like `book-[id]` or `item-$id`."""
    return _MIXED.search(text) is not None
