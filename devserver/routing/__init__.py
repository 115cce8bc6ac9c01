"""devserver's file-routing engine, usable without a server.

>>> from devserver.routing import build_table
>>> table = build_table(["users/[id]", "docs/[...path]", "index"])
>>> table.match("/docs/a/b").params
{'path': ['a', 'b']}

Pure: no aiohttp and no I/O. Discovery (``devserver.discovery``) turns a folder into
:class:`RouteFile` records; this package turns those into a :class:`RouteTable`.
"""

from .explain import Candidate as Candidate
from .explain import Explanation as Explanation
from .matcher import Match as Match
from .paths import InvalidPath as InvalidPath
from .routes import Problem as Problem
from .routes import Route as Route
from .routes import RouteFile as RouteFile
from .routes import parse_route_id as parse_route_id
from .segments import Kind as Kind
from .segments import Segment as Segment
from .segments import parse_segment as parse_segment
from .table import RouteTable as RouteTable
from .table import build_table as build_table
from .table import route_dict as route_dict

__all__ = [
    "Candidate",
    "Explanation",
    "InvalidPath",
    "Kind",
    "Match",
    "Problem",
    "Route",
    "RouteFile",
    "RouteTable",
    "Segment",
    "build_table",
    "parse_route_id",
    "parse_segment",
    "route_dict",
]
