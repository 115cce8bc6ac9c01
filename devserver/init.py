"""``devserver init NAME``: a new app a person would want to start from.

The starter lives in devserver's own ``templates/starter/`` (shipped in the wheel). Nothing that
exists is overwritten unless ``force`` is given: a user's saved work is never clobbered.
"""

from __future__ import annotations

import re
from pathlib import Path

from .config import asset_dir

__all__ = ["InitError", "init_project", "starter_files"]

# Files whose name cannot be shipped as is (a .gitignore would apply to devserver's own repo).
_RENAMES = {"gitignore": ".gitignore"}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9 _.\-]")


class InitError(Exception):
    """The target holds files that ``init`` would overwrite."""


def starter_files() -> dict[str, Path]:
    """Target path (relative, ``/``-separated) -> the starter file it comes from."""
    base = asset_dir("templates") / "starter"
    files = {}
    for path in sorted(base.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            rel = path.relative_to(base).as_posix()
            files[_RENAMES.get(rel, rel)] = path
    return files


def init_project(target: Path, *, force: bool = False) -> list[Path]:
    """Write the starter app into ``target``; return the files written."""
    name = _SAFE_NAME.sub("", target.resolve().name).strip() or "my app"
    files = starter_files()
    existing = [rel for rel in files if (target / rel).exists()]
    if existing and not force:
        listed = ", ".join(existing)
        raise InitError(f"{target} already has {listed}; nothing was written (use --force to "
                        "overwrite them)")
    written = []
    for rel, source in files.items():
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(source.read_text().replace("{{NAME}}", name))
        written.append(dest)
    return written
