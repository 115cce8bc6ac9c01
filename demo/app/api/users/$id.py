"""/users/:id : one user. GET shows it (and a flash message once); POST renames it."""

from app.lib.users import find_user


async def get(req):
    user = find_user(req.params["id"])
    if user is None:
        return {"status": 404, "json": {"error": f"no user {req.params['id']}"}}
    flash = req.session.get("flash")
    session = {k: v for k, v in req.session.items() if k != "flash"}
    return {"json": {"user": user, "flash": flash}, "session": session}


async def post(req):
    user = find_user(req.params["id"])
    if user is None:
        return {"status": 404, "json": {"error": f"no user {req.params['id']}"}}
    name = (req.body.get("name") or "").strip() if isinstance(req.body, dict) else ""
    if not name:
        return {"status": 422, "json": {"user": user, "error": "A name is required."}}
    user["name"] = name
    return {
        "location": f"/users/{user['id']}",
        "json": {"user": user},
        "session": {**req.session, "flash": f"Saved. This user is now called {name}."},
    }
