"""Precedence (DESIGN §2): one sort key, a golden order, backtracking, and no dependence on listing order."""

from __future__ import annotations

import random

import pytest

from devserver.routing import RouteFile, build_table, parse_route_id
from devserver.routing.precedence import sort_key

# Every route id in its precedence order. At the first position where two differ: the route ends
# here > static > dynamic > optional > catch-all > optional catch-all. Static siblings never match
# one path together; they are kept in code-point order only so that the order is total.
GOLDEN = [
    "index",
    "Zebra",
    "a/b/[y]",
    "a/[x]/c",
    "about",
    "blog",
    "blog/[slug]",
    "blog/[slug]/comments",
    "blog/[slug]/[comment]",
    "blog/[...rest]",
    "data.json",
    "docs/index",
    "docs/quickstart",
    "docs/$slug",
    "docs/$$",
    "files/readme.md",
    "files/[name]/raw",
    "files/[...path]",
    "post/create",
    "post/[pid]",
    "post/[pid]/[comment]",
    "post/[...slug]",
    "shop/[[page]]",
    "shop/[[...slug]]",
    "users/[id]",
    "users/[id]/posts",
    "users/[id]/[[tab]]",
    "views/cats/food/$id",
    "views/$thing/food/arg",
    "[lang]",
    "[lang]/about",
    "[lang]/docs/[[page]]",
    "[lang]/[...rest]",
    "[...all]",
]

# Paths over GOLDEN and the route each must reach; used to show that listing order changes nothing.
GOLDEN_PATHS = {
    "/": "index",
    "/Zebra": "Zebra",
    "/zebra": "[lang]",
    "/a/b/c": "a/b/[y]",
    "/a/z/c": "a/[x]/c",
    "/a/z/z": "[lang]/[...rest]",
    "/about": "about",
    "/blog": "blog",
    "/blog/x": "blog/[slug]",
    "/blog/x/comments": "blog/[slug]/comments",
    "/blog/x/y": "blog/[slug]/[comment]",
    "/blog/x/y/z": "blog/[...rest]",
    "/docs": "docs/index",
    "/docs/quickstart": "docs/quickstart",
    "/docs/glossary": "docs/$slug",
    "/docs/a/b": "docs/$$",
    "/files/readme.md": "files/readme.md",
    "/files/x/raw": "files/[name]/raw",
    "/files/x/y": "files/[...path]",
    "/files": "[lang]",
    "/post/create": "post/create",
    "/post/1": "post/[pid]",
    "/post/1/2": "post/[pid]/[comment]",
    "/post/1/2/3": "post/[...slug]",
    "/shop": "shop/[[page]]",
    "/shop/2": "shop/[[page]]",
    "/shop/a/b": "shop/[[...slug]]",
    "/users/1": "users/[id]",
    "/users/1/posts": "users/[id]/posts",
    "/users/1/likes": "users/[id]/[[tab]]",
    "/views/cats/food/arg": "views/cats/food/$id",
    "/views/dogs/food/arg": "views/$thing/food/arg",
    "/views/dogs/food/x": "[lang]/[...rest]",
    "/x": "[lang]",
    "/en": "[lang]",
    "/en/about": "[lang]/about",
    "/en/docs": "[lang]/docs/[[page]]",
    "/en/docs/1": "[lang]/docs/[[page]]",
    "/en/docs/1/2": "[lang]/[...rest]",
}


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 42, 1234, 99999])
def test_golden_order(seed: int) -> None:
    shuffled = GOLDEN[:]
    random.Random(seed).shuffle(shuffled)
    table = build_table(shuffled)
    assert [r.id for r in table.routes] == GOLDEN
    assert [table.rank(r) for r in table.routes] == list(range(1, len(GOLDEN) + 1))
    assert not [p for p in table.problems if p.severity == "error"]


def test_golden_order_as_a_sort() -> None:
    keyed = sorted(GOLDEN[::-1], key=lambda i: sort_key(i, parse_route_id(i).segments))
    assert keyed == GOLDEN


@pytest.mark.parametrize(("path", "route"), list(GOLDEN_PATHS.items()))
def test_golden_paths(path: str, route: str) -> None:
    found = build_table(GOLDEN).match(path)
    assert found is not None and found.route == route


@pytest.mark.parametrize("seed", range(10))
def test_listing_order_never_matters(seed: int) -> None:
    files = [RouteFile(i, "api", f"app/api/{i}.py") for i in GOLDEN] + [
        RouteFile("users/[id]", "page", "app/pages/users/[id].html"),
        RouteFile("users/[uid]", "api", "app/api/users/[uid].py"),  # a conflict
        RouteFile("docs/[[...all]]", "page", "app/pages/docs/[[...all]].html"),  # another
        RouteFile("shop/book-[id]", "api", "app/api/shop/book-[id].py"),  # a warning
        RouteFile("a/[[x]]/b", "api", "app/api/a/[[x]]/b.py"),  # invalid
    ]
    reference = build_table(files)
    shuffled = files[:]
    random.Random(seed).shuffle(shuffled)
    table = build_table(shuffled)
    assert table.as_dict() == reference.as_dict()
    assert table.problems == reference.problems
    for path in [*GOLDEN_PATHS, "/users/1", "/docs", "/docs/x/y/z", "/a/b", "/a/1/b", "/nope/x/y/z/w"]:
        got, want = table.match(path), reference.match(path)
        assert (got and (got.route, got.params)) == (want and (want.route, want.params)), path
        assert table.explain(path).as_dict() == reference.explain(path).as_dict()


# --- the examples of DESIGN §2 ---------------------------------------------------------------------


def routes_for(ids: list[str], paths: list[str]) -> list[str | None]:
    table = build_table(ids)
    found = [table.match(p) for p in paths]
    return [m.route if m is not None else None for m in found]


def test_leftmost_difference_decides() -> None:
    assert routes_for(["a/[x]/c", "a/b/[y]"], ["/a/b/c", "/a/z/c", "/a/b/z", "/a/z/z"]) == [
        "a/b/[y]", "a/[x]/c", "a/b/[y]", None]


def test_static_beats_dynamic() -> None:
    assert routes_for(["docs/$slug", "docs/quickstart"], ["/docs/quickstart", "/docs/glossary"]) == [
        "docs/quickstart", "docs/$slug"]


def test_static_then_dynamic_then_catchall() -> None:
    ids = ["post/[...slug]", "post/[pid]", "post/create"]
    assert routes_for(ids, ["/post/create", "/post/1", "/post/1/2", "/post"]) == [
        "post/create", "post/[pid]", "post/[...slug]", None]


def test_route_that_ends_beats_optional() -> None:
    ids = ["careers/[[id]]", "careers/index"]
    assert routes_for(ids, ["/careers", "/careers/1"]) == ["careers/index", "careers/[[id]]"]


def test_dynamic_beats_optional_beats_catchall() -> None:
    assert routes_for(["[[o]]", "[id]"], ["/", "/1", "/1/2"]) == ["[[o]]", "[id]", None]
    ids = ["a/[...r]", "a/[[x]]"]
    assert routes_for(ids, ["/a", "/a/1", "/a/1/2"]) == ["a/[[x]]", "a/[[x]]", "a/[...r]"]


def test_catchall_beats_optional_catchall() -> None:
    # Only observable in a conflicting set (two catch-alls at one level): both still match.
    ids = ["[[...all]]", "x/[...r]", "[...any]"]
    assert routes_for(ids, ["/", "/x", "/x/1", "/y"]) == ["[[...all]]", "[...any]", "x/[...r]", "[...any]"]


def test_precedence_ignores_parameter_names_and_spelling() -> None:
    a, b = parse_route_id("u/[zzz]/x"), parse_route_id("u/$aaa/x")
    assert sort_key("k", a.segments) == sort_key("k", b.segments)
    # Ties (one shape, two files: a conflict) fall back to the route id, never to listing order.
    assert [r.id for r in build_table(["u/[id]", "u/$id"]).routes] == ["u/$id", "u/[id]"]


# --- backtracking: a static branch that cannot finish falls back to its dynamic sibling --------------

BACKTRACK = ["[name]", "[name]/[comment]", "blog/abc/post", "blog/abc/[id]", "blog/[id]/comments/[cid]"]


@pytest.mark.parametrize(("path", "route", "params"), [
    ("/blog/abc/comments/9", "blog/[id]/comments/[cid]", {"id": "abc", "cid": "9"}),
    ("/blog", "[name]", {"name": "blog"}),
    ("/blog/x", "[name]/[comment]", {"name": "blog", "comment": "x"}),
    ("/blog/abc", "[name]/[comment]", {"name": "blog", "comment": "abc"}),
    ("/blog/abc/post", "blog/abc/post", {}),
    ("/blog/abc/x", "blog/abc/[id]", {"id": "x"}),
])
def test_backtracking(path: str, route: str, params: dict[str, object]) -> None:
    found = build_table(BACKTRACK).match(path)
    assert found is not None and (found.route, found.params) == (route, params)


def test_backtracking_through_every_kind() -> None:
    ids = ["a/b/c/d", "a/[x]/c/e", "a/b/[[o]]", "a/[y]/[...r]", "[[...all]]"]
    assert routes_for(ids, ["/a/b/c/d", "/a/b/c/e", "/a/b", "/a/b/z", "/a/b/z/w", "/a", "/q/r"]) == [
        "a/b/c/d", "a/[x]/c/e", "a/b/[[o]]", "a/b/[[o]]", "a/[y]/[...r]", "[[...all]]", "[[...all]]"]
    found = build_table(ids).match("/a/b/c/e")
    assert found is not None and found.params == {"x": "b"}
