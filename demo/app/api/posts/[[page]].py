"""/posts and /posts/:page : the list of posts, three to a page."""

from app.lib.users import POSTS, with_author

PER_PAGE = 3


async def get(req):
    pages = (len(POSTS) + PER_PAGE - 1) // PER_PAGE
    raw = req.params.get("page", "1")  # the optional segment is absent on /posts
    if not raw.isdigit() or not 1 <= int(raw) <= pages:
        return {"status": 404, "json": {"error": f"There is no page {raw}.", "pages": pages}}
    page = int(raw)
    items = POSTS[(page - 1) * PER_PAGE: page * PER_PAGE]
    return {"json": {"posts": [with_author(p) for p in items], "page": page, "pages": pages,
                     "first": (page - 1) * PER_PAGE + 1, "total": len(POSTS)}}
