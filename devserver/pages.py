"""Page templates: the Jinja2 environment, rendering, and the hydrated store (DESIGN §4).

Pages are rendered with ``store`` (preflight's dict updated by the API's ``json``) and a
read-only ``req``. The store is also embedded before ``</body>`` as
``<script type="application/json" id="devserver-store">``, escaped so no value can close the tag.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from .responses import json_default

__all__ = ["PageRenderer", "store_script", "inject_before_body_end", "merge_store"]

# PERF: one translate() pass over the serialized JSON; every character that could end the
# script element, open an HTML comment or end a JS line becomes a JSON escape that means the same.
_SCRIPT_SAFE = str.maketrans({
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
})
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def store_script(store: Any) -> str:
    """The store as a JSON script element that ``JSON.parse(el.textContent)`` reads back exactly.

    >>> store_script({"x": "</script>"})
    '<script type="application/json" id="devserver-store">{"x": "\\\\u003c/script\\\\u003e"}</script>'
    """
    text = json.dumps(store, default=json_default, ensure_ascii=False).translate(_SCRIPT_SAFE)
    return f'<script type="application/json" id="devserver-store">{text}</script>'


def inject_before_body_end(html: str, snippet: str) -> str:
    """Insert ``snippet`` before the last ``</body>``, or append it when there is none."""
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

    def has(self, name: str) -> bool:
        return (self.pages_dir / name).is_file()

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        """Render ``app/pages/<name>`` (``users/$id.html``) with ``context``."""
        return self.env.get_template(name).render(context)
