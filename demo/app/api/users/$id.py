"""/users/:id : one user. GET shows it (and a flash message once); POST renames it."""

from app.lib.users import find_user, posts_by


async def get(req):
    user = find_user(req.params["id"])
    if user is None:
        return {"status": 404, "json": {"error": f"There is no user {req.params['id']}."}}
    # The flash message is read once: the session goes back without it.
    flash = req.session.get("flash")
    session = {k: v for k, v in req.session.items() if k != "flash"}
    return {"json": {"user": user, "posts": posts_by(user["id"]), "flash": flash}, "session": session}


async def post(req):
    # req.body is the form as a dict (or the parsed JSON, for a JSON client).
    user = find_user(req.params["id"])
    if user is None:
        return {"status": 404, "json": {"error": f"There is no user {req.params['id']}."}}
    typed = req.body.get("name", "") if isinstance(req.body, dict) else ""
    name = typed.strip() if isinstance(typed, str) else ""
    if not name or len(name) > 100:
        # No `location`: the page is rendered again with this JSON and the 422 status, so the
        # error shows next to what was typed.
        error = "A name is required." if not name else "Keep the name under 100 characters."
        return {"status": 422, "json": {"user": user, "posts": posts_by(user["id"]), "error": error,
                                        "typed": typed}}
    user["name"] = name
    # Redirect after POST (303), carrying a flash message to the next page in the session.
    return {
        "location": f"/users/{user['id']}",
        "json": {"user": user},
        "session": {**req.session, "flash": f"Saved. This user is now called {name}."},
    }
