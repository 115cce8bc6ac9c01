"""Turning what a handler returned into an HTTP response (DESIGN §3).

A handler returns a dict with ``json``, ``location``, ``statusCode`` (``status_code``, ``code``,
``status``), ``cacheControl`` (``cache_control``), ``headers`` and ``session``; or an aiohttp
response, which passes through untouched.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import difflib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ["Result", "ResultError", "normalize", "json_body", "json_default", "redirect_status", "KNOWN_KEYS"]

_ALIASES = {
    "json": "json",
    "location": "location",
    "statusCode": "status",
    "status_code": "status",
    "code": "status",
    "status": "status",
    "cacheControl": "cache_control",
    "cache_control": "cache_control",
    "headers": "headers",
    "session": "session",
}
KNOWN_KEYS = tuple(_ALIASES)


class ResultError(Exception):
    """A handler returned something devserver cannot turn into a response (a 500 that says why)."""


@dataclass(slots=True)
class Result:
    """A handler's return value with aliases resolved and every field checked."""

    json: Any = field(default_factory=dict)
    has_json: bool = False
    location: str | None = None
    status: int | None = None
    cache_control: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    session: dict[str, Any] | None = None  # None: leave the session as it is

    @property
    def redirects(self) -> bool:
        return self.location is not None


def normalize(value: object, where: str) -> Result | web.StreamResponse:
    """Check a handler's return value; ``where`` names the handler in error messages."""
    if type(value) is dict and len(value) == 1 and "json" in value:
        return Result(json=value["json"], has_json=True)  # PERF: what most handlers return
    if isinstance(value, web.StreamResponse):
        return value
    if value is None:
        return Result()
    if not isinstance(value, Mapping):
        raise ResultError(f"{where} returned {type(value).__name__}; return a dict such as "
                          "{\"json\": ...} or an aiohttp response")
    seen: dict[str, str] = {}
    result = Result()
    for key, item in value.items():
        canonical = _ALIASES.get(key) if isinstance(key, str) else None
        if canonical is None:
            raise ResultError(_unknown_key(where, key))
        if canonical in seen:
            raise ResultError(f"{where} returned both `{seen[canonical]}` and `{key}`, which mean the "
                              "same thing; keep one")
        seen[canonical] = key
        _set(result, canonical, key, item, where)
    return result


def _unknown_key(where: str, key: object) -> str:
    text = f"{where} returned an unknown key {key!r}"
    if isinstance(key, str):
        # NOTE: a difference of case first (`statuscode` is `statusCode`, not `status_code`).
        same = [known for known in KNOWN_KEYS if known.lower() == key.lower()]
        close = same or difflib.get_close_matches(key, KNOWN_KEYS, n=1, cutoff=0.5)
        if close:
            return f"{text}; did you mean `{close[0]}`?"
    return f"{text}; known keys: {', '.join(KNOWN_KEYS)}"


def _set(result: Result, canonical: str, key: str, item: Any, where: str) -> None:
    if canonical == "json":
        result.json, result.has_json = item, True
    elif canonical == "location":
        if not isinstance(item, str) or not item:
            raise ResultError(f"{where}: `location` must be a non-empty string, got {item!r}")
        result.location = item
    elif canonical == "status":
        if isinstance(item, bool) or not isinstance(item, int) or not 100 <= item <= 599:
            raise ResultError(f"{where}: `{key}` must be an HTTP status from 100 to 599, got {item!r}")
        result.status = item
    elif canonical == "cache_control":
        if not isinstance(item, str):
            raise ResultError(f"{where}: `{key}` must be a string, got {item!r}")
        result.cache_control = item
    elif canonical == "headers":
        result.headers = _headers(item, where)
    else:
        if not isinstance(item, Mapping):
            raise ResultError(f"{where}: `session` must be a dict (use {{}} to clear it), got {item!r}")
        result.session = _session(item, where)


def _session(item: Mapping[Any, Any], where: str) -> dict[str, Any]:
    """The session is stored as JSON in a cookie: only JSON values survive the round trip."""
    try:
        json.dumps(item)
    except (TypeError, ValueError) as exc:
        raise ResultError(f"{where}: `session` must hold plain JSON values (str, int, float, bool, "
                          f"None, list, dict) to fit in the cookie: {exc}") from None
    return dict(item)


def _headers(item: Any, where: str) -> dict[str, str]:
    if not isinstance(item, Mapping):
        raise ResultError(f"{where}: `headers` must be a dict of strings, got {item!r}")
    out: dict[str, str] = {}
    for name, value in item.items():
        if not isinstance(name, str) or not isinstance(value, str | int):
            raise ResultError(f"{where}: header {name!r} must map a string to a string, got {value!r}")
        text = str(value)
        if "\n" in text or "\r" in text:
            raise ResultError(f"{where}: header {name!r} contains a line break")
        out[name] = text
    return out


def json_default(value: object) -> object:
    """What `json.dumps` cannot take on its own: dates, UUIDs, decimals, sets, dataclasses."""
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# PERF: built once; `json.dumps(..., default=...)` builds a new encoder on every call.
# allow_nan=False: NaN and Infinity are not JSON, and a browser's JSON.parse rejects them.
_ENCODER = json.JSONEncoder(default=json_default, ensure_ascii=False, allow_nan=False)


_C_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_encode_str: Any = json.encoder.encode_basestring
# PERF: one C encoder for every call, without circular-reference markers (None: it then keeps no
# state between calls, and threads may share it): ~20,700 -> ~15,000 instructions for a small
# dict. Without markers a circular reference ends in a RecursionError; json_body then encodes
# again with _ENCODER, which has them, for the error it always gave.
_SHARED: Any = _C_ENCODER(None, json_default, _encode_str, None, ": ", ", ", False, False, False) \
    if _C_ENCODER is not None else None


def json_body(value: Any, where: str) -> bytes:
    """Serialize ``json``; dates, UUIDs, decimals, sets and dataclasses are converted."""
    try:
        if _SHARED is None:
            text = _ENCODER.encode(value)
        else:
            try:
                text = "".join(_SHARED(value, 0))
            except RecursionError:  # circular, or nested too deeply: as the markers tell it
                text = _ENCODER.encode(value)
    except (TypeError, ValueError) as exc:
        raise ResultError(f"{where}: `json` cannot be sent as JSON: {exc}") from None
    try:
        return text.encode()
    except UnicodeEncodeError:
        # A lone surrogate (say, an undecodable file name): \u escapes keep the body valid UTF-8.
        return json.dumps(value, default=json_default, allow_nan=False).encode()


def redirect_status(result: Result, method: str) -> int:
    """302 after GET, 303 after anything else, unless the handler gave a 3xx (DESIGN §3)."""
    if result.status is not None and 300 <= result.status < 400:
        return result.status
    return 302 if method in ("GET", "HEAD") else 303
