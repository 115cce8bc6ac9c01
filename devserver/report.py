"""The route table and explanations as text and as JSON-ready dicts.

``devserver routes``, ``devserver match``, ``/__routes.json`` and ``/__routes/match`` show the same
data, in the same shape where they overlap.
"""

from __future__ import annotations

from typing import Any

from .loader import RouteModule
from .routing import Explanation, route_dict
from .state import AppState

__all__ = ["state_dict", "route_rows", "format_table", "format_explanation"]


def route_rows(state: AppState) -> list[dict[str, Any]]:
    """One dict per route, in precedence order, with the module's methods and load status."""
    rows: list[dict[str, Any]] = []
    for route in state.table.routes:
        row = route_dict(route, state.table.rank(route))
        module = state.modules.get(route.id)
        row["methods"] = sorted(state.methods.get(route.id, ()))
        row["segments"] = [{"text": s.text, "kind": s.kind.label} for s in route.segments]
        row["handlers"] = _handlers(module)
        row["error"] = module.error.as_dict() if module is not None and module.error else None
        if row["error"] is not None and row["status"] not in ("conflict", "error"):
            row["status"] = "broken"
        if route.has_page and not route.has_api:
            row["methods"] = ["GET", "HEAD", "OPTIONS"]
        rows.append(row)
    return rows


def _handlers(module: RouteModule | None) -> list[dict[str, Any]]:
    """The module's exported functions, by method, with the line each is defined on."""
    if module is None or module.error is not None:
        return []
    found = [{"method": m, "name": h.name, "line": h.line} for m, h in sorted(module.handlers.items())]
    if module.fallback is not None:
        found.append({"method": "*", "name": module.fallback.name, "line": module.fallback.line})
    return found


def state_dict(state: AppState) -> dict[str, Any]:
    """The table, its problems, what discovery could not read, and app/preflight.py's error."""
    preflight = state.preflight_error.as_dict() if state.preflight_error is not None else None
    return {
        "routes": route_rows(state),
        "problems": [p.as_dict() for p in state.table.problems],
        "warnings": list(state.warnings),
        "preflight_error": preflight,
    }


def format_table(state: AppState) -> str:
    """A plain-text table a terminal can show: rank, pattern, methods, files, status."""
    rows = route_rows(state)
    if not rows:
        return "no routes: add a module under app/api/ or a template under app/pages/"
    header = ("#", "pattern", "methods", "files", "status")
    lines = [(str(r["rank"]), r["pattern"], ",".join(m for m in r["methods"] if m not in ("HEAD", "OPTIONS")),
              " + ".join(f for f in (r["api_file"], r["page_file"]) if f), r["status"]) for r in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    problems = [*state.table.problems]
    broken = [r["error"]["message"] for r in rows if r["error"]]
    if problems or broken or state.warnings:
        out.append("")
        out.append("problems:")
        out += [f"  {p.severity}: {p.message}" for p in problems]
        out += [f"  error: broken module: {m}" for m in broken]
        out += [f"  warning: {w}" for w in state.warnings]  # files discovery could not use
    return "\n".join(out)


def format_explanation(ex: Explanation) -> str:
    """``devserver match``: the outcome, then every candidate in precedence order with its reason."""
    out = [f"{ex.method} {ex.path} -> {ex.status}: {ex.summary}"]
    if ex.winner is not None:
        out.append(f"params: {ex.params}")
    if ex.candidates:
        out.append("")
        width = max(len(c.pattern) for c in ex.candidates)
        for c in ex.candidates:
            mark = "*" if c.outcome == "winner" else " "
            out.append(f"{mark} {c.rank:>3}  {c.pattern.ljust(width)}  {c.outcome}: {c.reason}")
    if ex.suggestions:
        out.append("")
        out.append("did you mean: " + ", ".join(ex.suggestions))
    return "\n".join(out)
