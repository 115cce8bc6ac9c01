"""/users/:id : one user, as JSON."""

from app.lib.users import find_user


async def get(req):
    user = find_user(req.params["id"])
    if user is None:
        return {"status": 404, "json": {"error": f"no user {req.params['id']}"}}
    return {"json": {"user": user}}


async def post(req):
    user = find_user(req.params["id"])
    if user is None:
        return {"status": 404, "json": {"error": f"no user {req.params['id']}"}}
    name = req.body.get("name") if isinstance(req.body, dict) else None
    if name:
        user["name"] = name
    return {"location": f"/users/{user['id']}", "session": {**req.session, "flash": "saved"}}
