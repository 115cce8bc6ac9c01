"""GET / : the home page's data."""

from app.lib.users import POSTS, all_users, with_author


async def get(req):
    latest = [with_author(p) for p in POSTS[-3:][::-1]]
    return {"json": {"users": all_users(), "latest": latest, "total_posts": len(POSTS)}}
