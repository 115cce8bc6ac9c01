"""Error responses that follow the client: HTML pages or ``{"error": {...}}`` (DESIGN §4).

In dev they say everything that helps (the routing explanation on a 404, the traceback with the
user's file and line on a 500). Outside dev they say nothing about files or code.
"""

from __future__ import annotations

import json
import linecache
import traceback
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from .config import asset_dir
from .routing import Explanation, Problem

__all__ = ["ErrorInfo", "Frame", "from_exception", "error_response", "own_templates", "SourceLine",
           "source_context"]


@dataclass(frozen=True, slots=True)
class SourceLine:
    number: int
    text: str
    is_error: bool


@dataclass(frozen=True, slots=True)
class Frame:
    """One traceback frame as the dev 500 page lists it; ``mine`` marks the user's own code."""

    file: str
    line: int | None
    name: str
    code: str
    mine: bool


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """Everything an error page or an error JSON body may show."""

    status: int
    message: str
    kind: str | None = None
    file: str | None = None
    line: int | None = None
    source: tuple[SourceLine, ...] = ()
    traceback: str | None = None
    explanation: Explanation | None = None
    problems: tuple[Problem, ...] = ()
    allow: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    # The exception alone (``KeyError: 'x'``), for a headline that does not repeat the file.
    summary: str | None = None
    frames: tuple[Frame, ...] = ()

    @property
    def title(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Error"

    def public_message(self, dev: bool) -> str:
        """What may be shown: everything in dev; outside dev, no paths or code for a 5xx."""
        if dev or self.status < 500:
            return self.message
        return self.title


def from_exception(exc: BaseException, root: Path, *, status: int = 500,
                   message: str | None = None) -> ErrorInfo:
    """Describe an exception, pointing at the deepest frame in the user's own files."""
    frames = traceback.extract_tb(exc.__traceback__)
    file: str | None = None
    line: int | None = None
    filename: str | None = None
    if isinstance(exc, SyntaxError | jinja2.TemplateSyntaxError) and exc.filename:
        filename, line = exc.filename, exc.lineno
    else:
        for frame in reversed(frames):
            if _is_users_file(frame.filename, root):
                filename, line = frame.filename, frame.lineno
                break
    source: tuple[SourceLine, ...] = ()
    if filename is not None and line is not None:
        file = _display(filename, root)
        source = source_context(filename, line)
    text = message if message is not None else f"{type(exc).__name__}: {exc}"
    if message is None and isinstance(exc, SystemExit):
        text = f"the handler called sys.exit({exc.code!r}); the server keeps running"
    summary = text
    if file is not None and line is not None and message is None:
        text = f"{file}:{line}: {text}"
    shown = tuple(Frame(_display(f.filename, root), f.lineno, f.name, (f.line or "").strip(),
                        _is_users_file(f.filename, root)) for f in frames)
    return ErrorInfo(status, text, type(exc).__name__, file, line, source,
                     "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
                     summary=summary, frames=shown)


# Folders inside a project that hold other people's code: a virtualenv kept in the project
# (`.venv/lib/.../site-packages`), vendored packages, node_modules.
_NOT_USERS = frozenset({"site-packages", "dist-packages", "node_modules", "__pypackages__"})


def _is_users_file(filename: str, root: Path) -> bool:
    """A file of the user's own code: under ROOT, and not in a hidden or third-party folder."""
    try:
        parts = Path(filename).resolve().relative_to(root.resolve()).parts
    except (ValueError, OSError):
        return False
    return not any(p.startswith(".") or p in _NOT_USERS for p in parts[:-1])


def _display(filename: str, root: Path) -> str:
    try:
        return Path(filename).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return filename


def source_context(filename: str, line: int, around: int = 4) -> tuple[SourceLine, ...]:
    linecache.checkcache(filename)
    out: list[SourceLine] = []
    for number in range(max(1, line - around), line + around + 1):
        text = linecache.getline(filename, number)
        if not text and number > line:
            break
        out.append(SourceLine(number, text.rstrip("\n"), number == line))
    return tuple(out)


def error_json(info: ErrorInfo, dev: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"status": info.status, "message": info.public_message(dev)}
    if info.allow:
        body["allow"] = list(info.allow)
    if dev:
        if info.kind:
            body["type"] = info.kind
        if info.file:
            body["file"], body["line"] = info.file, info.line
        if info.traceback:
            body["traceback"] = info.traceback
        if info.problems:
            body["problems"] = [p.as_dict() for p in info.problems]
        if info.explanation is not None:
            body["explanation"] = info.explanation.as_dict()
        body.update(info.extra)
    return {"error": body}


def own_templates() -> jinja2.Environment:
    """devserver's own templates (error pages, dashboard), from the installed package."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(asset_dir("templates"))),
        autoescape=True,
        auto_reload=False,
    )


def error_response(info: ErrorInfo, *, wants_json: bool, dev: bool, env: jinja2.Environment,
                   html: str | None = None) -> web.Response:
    """The error as JSON or HTML; ``html`` is the app's own rendered error page, when it has one."""
    # NOTE: DESIGN §4: in dev every response carries `no-cache`; an error has no validator, so the
    # browser asks again every time anyway. Outside dev an error is never stored.
    headers = {"Vary": "Accept", "Cache-Control": "no-cache" if dev else "no-store"}
    if info.allow:
        headers["Allow"] = ", ".join(info.allow)
    if wants_json:
        text = json.dumps(error_json(info, dev), ensure_ascii=False)
        return web.Response(status=info.status, text=text, content_type="application/json",
                            headers=headers)
    if html is None:
        html = env.get_template("error.html").render(error=info, dev=dev,
                                                     message=info.public_message(dev))
    return web.Response(status=info.status, text=html, content_type="text/html", headers=headers)
