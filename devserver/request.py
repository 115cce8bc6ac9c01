"""The ``req`` object handed to route handlers, and request-body parsing (DESIGN §3)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError
from multidict import CIMultiDictProxy, MultiDictProxy

__all__ = ["Req", "make_req", "UploadedFile", "BodyError", "read_body", "flatten", "FORM_TYPES"]

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file from a multipart form."""

    filename: str
    content_type: str
    data: bytes

    def __repr__(self) -> str:
        return f"UploadedFile({self.filename!r}, {self.content_type!r}, {len(self.data)} bytes)"


@dataclass(frozen=True, slots=True)
class Req:
    """What a handler sees of a request.

    ``session`` is a copy: to change the session, return ``{"session": {...}}`` (replace
    semantics, DESIGN §3). ``raw`` is the aiohttp request, for anything else.
    """

    method: str
    path: str
    params: Mapping[str, str | list[str]]
    query: Mapping[str, str | list[str]]
    headers: CIMultiDictProxy[str]
    body: Any
    session: dict[str, Any]
    raw: web.Request

    def as_context(self) -> dict[str, Any]:
        """The read-only view pages get as ``req`` (no body, no raw request)."""
        return {
            "method": self.method,
            "path": self.path,
            "params": _read_only(self.params),
            "query": _read_only(self.query),
            "session": _read_only(self.session),
        }


class _Building:
    """:class:`Req`'s mutable twin: the same slots in the same order, so an object filled in as
    one can become a Req by assigning its class (the layouts are the same)."""

    __slots__ = Req.__slots__


def make_req(method: str, path: str, params: Mapping[str, str | list[str]],
             query: Mapping[str, str | list[str]], headers: CIMultiDictProxy[str], body: Any,
             session: dict[str, Any], raw: web.Request) -> Req:
    """``Req(method, path, ...)``, built for the dispatcher (``Req(...)`` works too, slower).

    PERF: plain slot stores on the mutable twin and one class assignment, instead of the frozen
    dataclass's ``object.__setattr__`` per field (one Req per routed request). The
    result is a Req like any other: frozen, equal to one built by ``Req(...)``.
    """
    req: Any = _Building()
    req.method = method
    req.path = path
    req.params = params
    req.query = query
    req.headers = headers
    req.body = body
    req.session = session
    req.raw = raw
    req.__class__ = Req
    return req  # type: ignore[no-any-return]


_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _read_only(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only copy; PERF: one shared empty view for the usual empty query and session."""
    return MappingProxyType(dict(mapping)) if mapping else _EMPTY


class BodyError(Exception):
    """A body that cannot be read: malformed JSON or form data (400), or too large (413)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def flatten(multi: MultiDictProxy[Any] | Mapping[str, Any]) -> dict[str, Any]:
    """A multidict as a plain dict: one value stays a value, a repeated key becomes a list."""
    out: dict[str, Any] = {}
    keys = multi.keys()
    for key in dict.fromkeys(keys):
        values = multi.getall(key) if isinstance(multi, MultiDictProxy) else [multi[key]]
        out[key] = values[0] if len(values) == 1 else list(values)
    return out


async def read_body(request: web.Request, max_body: int) -> Any:
    """Parse the body by content type: JSON, form, multipart with files, or bytes; empty -> ``{}``."""
    length = request.content_length
    if length is not None and length > max_body:
        raise BodyError(413, _too_large(length, max_body))
    if not request.body_exists:
        return {}
    ctype = request.content_type
    try:
        if ctype in FORM_TYPES:
            return await _read_form(request)
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise BodyError(413, _too_large(None, max_body)) from None
    except UNREADABLE as exc:  # a Content-Encoding that does not decode, a broken chunk
        raise BodyError(400, f"cannot read the request body: {unreadable_reason(exc)}") from None
    except ConnectionResetError:  # the client left mid-body: nobody to answer, nothing to log
        raise BodyError(400, "the request body ended early: the client closed the connection") from None
    if not raw:
        return {}
    if ctype == "application/json" or ctype.endswith("+json"):
        return _parse_json(raw)
    return raw


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except UnicodeDecodeError as exc:
        raise BodyError(400, f"malformed JSON in request body: not UTF-8 ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise BodyError(400, f"malformed JSON in request body: {exc.msg} at line {exc.lineno} "
                             f"column {exc.colno} (char {exc.pos})") from None
    except RecursionError:
        raise BodyError(400, "malformed JSON in request body: nested too deeply") from None


async def _read_form(request: web.Request) -> dict[str, Any]:
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        raise
    except (ValueError, AssertionError, UnicodeDecodeError, LookupError, HttpProcessingError) as exc:
        # aiohttp raises these for a broken multipart stream, a bad part header or a bad charset.
        raise BodyError(400, f"malformed form body ({request.content_type}): "
                             f"{unreadable_reason(exc)}") from None
    out = flatten(form)
    for key, value in out.items():
        out[key] = _file(value) if not isinstance(value, list) else [_file(v) for v in value]
    return out


# What aiohttp raises while reading a body the client got wrong; never a 500.
UNREADABLE = (RequestPayloadError, HttpProcessingError)


def unreadable_reason(exc: BaseException) -> str:
    """aiohttp's ``400, message:\\n  Can not decode ...`` as one short line."""
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    if lines and lines[0].endswith("message:"):
        lines = lines[1:]
    return " ".join(lines)[:200] or type(exc).__name__


def _file(value: Any) -> Any:
    if isinstance(value, web.FileField):
        data = value.file.read()
        return UploadedFile(value.filename, value.content_type, data)
    return value


def _too_large(length: int | None, limit: int) -> str:
    size = f"{length} bytes, over" if length is not None else "over"
    return f"request body too large: {size} the limit of {limit} bytes (change it with --max-body BYTES)"
