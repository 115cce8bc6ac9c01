"""Page templates: the Jinja2 environment, rendering, and the hydrated store (DESIGN §4).

Pages are rendered with ``store`` (preflight's dict updated by the API's ``json``) and a
read-only ``req``. The store is also embedded before ``</body>`` as
``<script type="application/json" id="devserver-store">``, escaped so no value can close the tag.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from .responses import json_default

__all__ = ["PageRenderer", "StoreError", "store_script", "inject_before_body_end", "merge_store"]

# Every character that could end the script element, open an HTML comment or end a JS line
# becomes a JSON escape that means the same. PERF: one str.replace per character, not
# str.translate: replace scans in C and returns the string itself when the character is absent,
# where translate looks every character up in a dict (10x slower on a small store).
_SCRIPT_SAFE = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                ("\u2029", "\\u2029"))
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
# PERF: built once; `json.dumps(..., default=...)` builds a new encoder on every call.
_STORE_ENCODER = json.JSONEncoder(default=json_default, ensure_ascii=False, allow_nan=False)


class StoreError(ValueError):
    """The store holds a value that ``JSON.parse`` could not read back (a 500 that says where)."""


def store_script(store: Any) -> str:
    """The store as a JSON script element that ``JSON.parse(el.textContent)`` reads back exactly.

    >>> store_script({"x": "</script>"})
    '<script type="application/json" id="devserver-store">{"x": "\\\\u003c/script\\\\u003e"}</script>'

    Raises :class:`StoreError` for a value JSON cannot hold (an object, NaN, infinity), naming
    where in the store it is: silently dropping it would give the browser a different store.
    """
    try:
        text = _STORE_ENCODER.encode(store)
    except (TypeError, ValueError) as exc:
        where = _bad_value(store) or str(exc)
        raise StoreError(f"the page's store cannot be embedded as JSON: {where}; "
                         "put only JSON values in `json` and in preflight's dict (dates, UUIDs, "
                         "decimals, sets and dataclasses are converted)") from exc
    for char, escape in _SCRIPT_SAFE:
        text = text.replace(char, escape)
    return f'<script type="application/json" id="devserver-store">{text}</script>'


def _bad_value(value: Any, where: str = "store", seen: frozenset[int] = frozenset()) -> str:
    """Where the first value that is not JSON sits, as ``store['a'][0]``, and what it is."""
    if isinstance(value, float):
        return "" if math.isfinite(value) else f"{where} is {value!r}, which JSON cannot hold"
    if value is None or isinstance(value, str | int):
        return ""
    if id(value) in seen:
        return f"{where} contains itself"
    seen = seen | {id(value)}
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key is not None and not isinstance(key, str | int | float):
                return f"{where} has a key of type {type(key).__name__}"
            found = _bad_value(item, f"{where}[{key!r}]", seen)
            if found:
                return found
        return ""
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _bad_value(item, f"{where}[{index}]", seen)
            if found:
                return found
        return ""
    try:
        converted = json_default(value)
    except TypeError:
        return f"{where} is an object of type {type(value).__name__}, which JSON cannot hold"
    return _bad_value(converted, where, seen)


def inject_before_body_end(html: str, snippet: str) -> str:
    """Insert ``snippet`` before the last ``</body>``, or append it when there is none."""
    # PERF: the last one is nearly always a plain `</body>` near the end: find it from the end,
    # and scan the whole page only when another spelling (`</BODY >`) could come after it.
    at = html.rfind("</body>")
    if at != -1 and _BODY_END.search(html, at + 1) is None:
        return html[:at] + snippet + html[at:]
    ends = [m.start() for m in _BODY_END.finditer(html)]
    if not ends:
        return html + snippet
    return html[: ends[-1]] + snippet + html[ends[-1]:]


def merge_store(preflight: Mapping[str, Any] | None, data: Any, has_data: bool) -> dict[str, Any]:
    """Preflight's dict updated by the API's ``json``; a non-object ``json`` goes under ``data``."""
    store: dict[str, Any] = dict(preflight or {})
    if not has_data:
        return store
    if isinstance(data, Mapping):
        store.update(data)
    else:
        store["data"] = data
    return store


def _template_default(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    return json_default(value)


def _template_json(value: Any, **kwargs: Any) -> str:
    """What Jinja's ``tojson`` filter calls: our converters plus read-only mappings."""
    return json.dumps(value, default=_template_default, **kwargs)


class PageRenderer:
    """The Jinja2 environment over ``app/pages`` (autoescaped, reloading changed templates)."""

    def __init__(self, pages_dir: Path, *, dev: bool) -> None:
        self.pages_dir = pages_dir
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(pages_dir)),
            autoescape=True,
            # NOTE: auto_reload checks each template's mtime on use, so a saved template is what
            # the next render uses, with no reload machinery of our own (DESIGN §5).
            auto_reload=dev,
            enable_async=False,
        )
        # NOTE: `req.params`, `req.query` and `req.session` are read-only mappings, which
        # json.dumps refuses; `{{ req.params | tojson }}` must work like it does for a dict.
        self.env.policies["json.dumps_function"] = _template_json

    def has(self, name: str) -> bool:
        return (self.pages_dir / name).is_file()

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        """Render ``app/pages/<name>`` (``users/$id.html``) with ``context``."""
        return self.env.get_template(name).render(context)
