"""Static files from ``public/``, served at ``/_public/...`` (DESIGN §1).

Path safety follows Werkzeug's ``safe_join``: the raw path is split and decoded per segment, and
any segment that could climb out or hide a separator is refused before the file system is asked.
The resolved path must still be inside ``public/``, so a symlink pointing outside is refused too.
Dotfiles are not served, folders are never listed, and a path with an empty segment (``a//b``,
``app.js/``) names no file. Only GET and HEAD read a file; OPTIONS says so; anything else is a 405.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote

from aiohttp import web

__all__ = ["PREFIX", "ALLOW", "resolve_public", "PublicPathError", "serve_public"]

PREFIX = "/_public/"
ALLOW = ("GET", "HEAD", "OPTIONS")

# The platform's mime table may be missing or old; these are the types a web app relies on.
for _ext, _type in {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
                    ".svg": "image/svg+xml", ".json": "application/json", ".wasm": "application/wasm",
                    ".woff2": "font/woff2", ".woff": "font/woff", ".webp": "image/webp",
                    ".avif": "image/avif", ".ico": "image/x-icon", ".map": "application/json",
                    ".txt": "text/plain", ".html": "text/html", ".webmanifest": "application/manifest+json"
                    }.items():
    mimetypes.add_type(_type, _ext)


class PublicPathError(Exception):
    """A request that gets no file: 400 (malformed path), 404 (refused or missing), 405 (method)."""

    def __init__(self, status: int, reason: str, allow: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.allow = allow


def resolve_public(public_dir: Path, raw_rest: str) -> Path:
    """The file under ``public_dir`` for the raw (still percent-encoded) path after ``/_public/``."""
    if "\x00" in raw_rest or "%00" in raw_rest:
        raise PublicPathError(400, "NUL byte in path")
    if raw_rest == "" or raw_rest.endswith("/"):
        raise PublicPathError(404, "no directory listings")
    parts: list[str] = []
    for raw in raw_rest.split("/"):
        try:
            part = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            raise PublicPathError(400, "path is not UTF-8") from None
        if part == "":
            # NOTE: `//` would be skipped by a path join; refusing it keeps one URL per file and
            # keeps `/_public//etc/passwd` from ever looking like an absolute path.
            raise PublicPathError(404, "empty path segment")
        if "/" in part or "\\" in part or "\x00" in part:
            raise PublicPathError(404, "encoded separator in path")
        if part in (".", "..") or part.startswith("."):
            raise PublicPathError(404, "dot segments and dotfiles are not served")
        if ":" in part and len(part) >= 2 and part[1] == ":":
            raise PublicPathError(404, "drive letters are not served")
        parts.append(part)
    base = public_dir.resolve()
    target = base.joinpath(*parts)
    try:
        resolved = target.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        raise PublicPathError(404, "no such file") from None
    if not resolved.is_relative_to(base) or not resolved.is_file():
        raise PublicPathError(404, "no such file")
    return resolved


def serve_public(public_dir: Path, raw_path: str, *, dev: bool,
                 method: str = "GET") -> web.StreamResponse:
    """A ``FileResponse`` (ETag, Last-Modified, 304s and ranges come from aiohttp).

    In dev ``Cache-Control: no-cache``: the browser keeps the file but asks every time, and a
    304 makes that cheap. Outside dev a short ``max-age`` (the files are not fingerprinted).
    """
    rest = raw_path[len(PREFIX):].split("?", 1)[0]
    path = resolve_public(public_dir, rest)
    if method == "OPTIONS":
        headers = {"Allow": ", ".join(ALLOW)}
        if dev:
            headers["Cache-Control"] = "no-cache"
        return web.Response(status=204, headers=headers)
    if method not in ("GET", "HEAD"):
        raise PublicPathError(405, f"method {method} not allowed", ALLOW)
    headers = {"Cache-Control": "no-cache" if dev else "public, max-age=300",
               "X-Content-Type-Options": "nosniff"}
    ctype, _ = mimetypes.guess_type(path.name)
    if ctype is not None:
        headers["Content-Type"] = ctype if not ctype.startswith("text/") else f"{ctype}; charset=utf-8"
    return web.FileResponse(path, headers=headers)
