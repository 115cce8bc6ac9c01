"""/notes/:id : one note, as JSON for `fetch` and as the page app/pages/notes/[id].html."""

from app.lib.notes import find_note


async def get(req):
    note = find_note(req.params["id"])
    if note is None:
        return {"status": 404, "json": {"error": f"There is no note {req.params['id']}."}}
    flash = req.session.get("flash")
    # Show the flash message once: the returned session replaces the old one.
    return {"json": {"note": note, "flash": flash}, "session": {}}
