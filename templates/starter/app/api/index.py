"""GET / : the home page's data. Open /__routes to see every route of this app."""

from app.lib.notes import all_notes


async def get(req):
    return {"json": {"title": "{{NAME}}", "notes": all_notes()}}


async def post(req):
    # A form on the home page posts here; redirect after the POST so a reload does not resend it.
    from app.lib.notes import add_note

    text = (req.body.get("text") or "").strip() if isinstance(req.body, dict) else ""
    if not text:
        return {"status": 422, "json": {"title": "{{NAME}}", "notes": all_notes(),
                                        "error": "Write something first."}}
    note = add_note(text)
    return {"location": f"/notes/{note['id']}", "session": {"flash": "Note saved."}}
