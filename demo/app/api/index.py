"""GET / : the home page's data."""

from app.lib.users import POSTS, all_users


async def get(req):
    return {"json": {"users": all_users(), "latest": POSTS[-3:][::-1]}}
