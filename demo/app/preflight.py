"""Runs before every HTML page: its dict is the base of every page's store."""


async def preflight(req):
    return {"site": {"name": "Atlas", "tagline": "a devserver demo"}}
