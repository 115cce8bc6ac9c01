"""/docs/* : documentation pages read from app/content/docs/*.html (first line: the title)."""

from pathlib import Path

CONTENT = Path(__file__).resolve().parents[2] / "content" / "docs"
ORDER = ["routes", "pages", "forms", "static"]


def get(req):
    # A plain `def` handler: devserver runs it in a thread, so the file read never blocks others.
    name = "/".join(req.params["path"])
    page = (CONTENT / f"{name}.html").resolve()
    if not page.is_relative_to(CONTENT) or not page.is_file():
        return {"status": 404, "json": {"error": f"There is no document {name}.", "docs": _toc()}}
    title, _, body = page.read_text().partition("\n")
    return {"json": {"title": title, "html": body, "path": name, "docs": _toc()}}


def _toc():
    found = {p.stem: p for p in CONTENT.glob("*.html")}
    names = [n for n in ORDER if n in found] + sorted(set(found) - set(ORDER))
    return [{"path": n, "title": found[n].read_text().partition("\n")[0]} for n in names]
