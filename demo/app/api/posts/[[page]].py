"""/posts and /posts/:page : the list of posts, three to a page."""

from app.lib.users import POSTS, find_user

PER_PAGE = 3


async def get(req):
    raw = req.params.get("page", "1")
    if not raw.isdigit() or int(raw) < 1:
        return {"status": 404, "json": {"error": f"no page {raw}"}}
    page = int(raw)
    pages = (len(POSTS) + PER_PAGE - 1) // PER_PAGE
    if page > pages:
        return {"status": 404, "json": {"error": f"no page {page}; there are {pages}"}}
    items = POSTS[(page - 1) * PER_PAGE: page * PER_PAGE]
    posts = [{**p, "author_name": find_user(p["author"])["name"]} for p in items]
    return {"json": {"posts": posts, "page": page, "pages": pages}}
