"""GET / : a welcome message and the list of users."""

from app.lib.users import all_users


async def get(req):
    return {"json": {"message": "Hello from devserver", "users": all_users()}}
