"""Splitting a raw URL path into decoded segments (DESIGN §2).

Values are matched on the raw path and percent-decoded once per segment, so ``%2F`` never
splits a segment. One trailing slash is tolerated; empty segments are kept, because an empty
segment is never a value and must not match.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = ["InvalidPath", "split_path", "normalize_raw"]

_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


class InvalidPath(ValueError):
    """The path cannot be decoded: bad percent-encoding or bytes that are not UTF-8 (a 400)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"invalid path {path!r}: {reason}")
        self.path = path
        self.reason = reason


def normalize_raw(path: str) -> str:
    """Drop the query and fragment, and make sure the path starts with ``/``."""
    for mark in ("?", "#"):
        cut = path.find(mark)
        if cut != -1:
            path = path[:cut]
    if not path.startswith("/"):
        path = "/" + path
    return path


def split_path(path: str) -> list[str]:
    """Split a raw path (no query) into percent-decoded segments.

    >>> split_path("/users/a%2Fb/")
    ['users', 'a/b']
    >>> split_path("/")
    []
    """
    body = path[1:] if path.startswith("/") else path
    if body.endswith("/"):
        body = body[:-1]
    if body == "":
        return []
    parts = body.split("/")
    if "%" not in body:
        return parts
    return [_decode(part, path) for part in parts]


def _decode(part: str, path: str) -> str:
    if "%" not in part:
        return part
    if _BAD_PERCENT.search(part):
        raise InvalidPath(path, f"invalid percent-encoding in segment `{part}`")
    try:
        return unquote(part, errors="strict")
    except UnicodeDecodeError:
        raise InvalidPath(path, f"segment `{part}` does not decode to UTF-8") from None
