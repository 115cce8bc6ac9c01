"""The generated matcher (``Matcher.match``) answers exactly as the backtracking walk does.

The reference here is the matcher's own walk, reached the slow way for every path: query and
fragment dropped, percent-decoded segments, a path with an empty segment matching nothing, then
``Matcher.lookup`` (the trie walk, then the routes matched apart). The generated code must give
the same route and params, or raise the same ``InvalidPath``, for random tables and raw paths,
including the ones it hands back to the walk (trailing slashes, queries, ``%``, ``//``, optional
segments) and with its code split into many small functions (a tiny inline budget).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devserver.routing import InvalidPath, build_table, codegen
from devserver.routing.matcher import Matcher, bind
from devserver.routing.paths import normalize_raw, split_path

from .test_matcher_properties import route_ids

SETTINGS = settings(max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
WORDS = ["a", "b", "docs", "x y", "é", "data.json", "index", "42", "%zz", "a%2Fb", ""]


def walked(matcher: Matcher, path: str) -> tuple[str, dict[str, object]] | None:
    """The answer of the walk alone (what ``match`` must agree with)."""
    segs = split_path(normalize_raw(path))
    if "" in segs:
        return None
    found = matcher.lookup(segs)
    if found is None:
        return None
    route, values = found
    return route.id, dict(bind(route, values))


def answer(fn: object, path: str) -> object:
    try:
        got = fn(path)  # type: ignore[operator]
    except InvalidPath as exc:
        return ("invalid", str(exc))
    if got is None or isinstance(got, tuple):
        return got
    return got.route, got.params


@st.composite
def raw_paths(draw: st.DrawFn) -> str:
    segs = draw(st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=3)), max_size=6))
    path = "/".join(s if draw(st.booleans()) else quote(s, safe="") for s in segs)
    if draw(st.integers(0, 5)) != 0:
        path = "/" + path  # sometimes no leading slash
    path += draw(st.sampled_from(["", "", "", "/", "//", "?q=1", "#top", "/?a=b/c"]))
    return path


@st.composite
def paths_near(draw: st.DrawFn, ids: list[str]) -> str:
    """A raw path made to fit one of ``ids`` (or nearly), so that routes are hit, not only missed."""
    route = draw(st.sampled_from(ids))
    segs: list[str] = []
    for part in route.split("/"):
        if part == "index":
            continue
        if part.startswith(("[", "$")):
            optional, many = part.startswith("[["), "..." in part or part == "$$"
            count = draw(st.integers(0 if optional else 1, 3 if many else 1))
            segs += draw(st.lists(st.sampled_from(WORDS), min_size=count, max_size=count))
        else:
            segs.append(part)
    if segs and draw(st.integers(0, 5)) == 0:
        del segs[draw(st.integers(0, len(segs) - 1))]
    path = "/" + "/".join(s if draw(st.integers(0, 4)) else quote(s, safe="") for s in segs)
    return path + draw(st.sampled_from(["", "", "", "", "/", "?q=1", "/#x"]))


@contextlib.contextmanager
def inline_limits(budget: int, statics: int, tree: int | None = None) -> Iterator[None]:
    saved = codegen.INLINE_BUDGET, codegen.INLINE_STATIC, codegen.INLINE_TREE
    codegen.INLINE_BUDGET, codegen.INLINE_STATIC = budget, statics
    codegen.INLINE_TREE = saved[2] if tree is None else tree
    try:
        yield
    finally:
        codegen.INLINE_BUDGET, codegen.INLINE_STATIC, codegen.INLINE_TREE = saved


def check(ids: list[str], requests: list[str]) -> None:
    table = build_table(ids)
    matcher = table._matcher
    for path in requests:
        expected = answer(lambda p: walked(matcher, p), path)
        assert answer(table.match, path) == expected, (ids, path, matcher.source)


tables = st.lists(route_ids(), min_size=1, max_size=10, unique=True)


@SETTINGS
@given(tables, st.lists(raw_paths(), max_size=8), st.data())
def test_generated_code_agrees_with_the_walk(ids: list[str], requests: list[str],
                                             data: st.DataObject) -> None:
    near = data.draw(st.lists(paths_near(ids), max_size=12))
    check(ids, [*requests, *near])


@SETTINGS
@given(tables, st.integers(0, 3), st.integers(0, 2), st.integers(0, 4), st.data())
def test_code_split_into_small_functions_agrees_with_the_walk(
        ids: list[str], budget: int, statics: int, tree: int, data: st.DataObject) -> None:
    requests = data.draw(st.lists(paths_near(ids), min_size=1, max_size=12))
    requests += data.draw(st.lists(raw_paths(), max_size=4))
    with inline_limits(budget, statics, tree):
        check(ids, requests)


@SETTINGS
@given(tables, st.integers(0, 40), st.integers(0, 10), st.data())
def test_children_reached_by_index_agree_with_the_walk(
        ids: list[str], budget: int, tree: int, data: st.DataObject) -> None:
    # Static children picked by their index in a dict and a tree of int compares, inlined as
    # far as the budget goes (and split into calls beyond it).
    requests = data.draw(st.lists(paths_near(ids), min_size=1, max_size=12))
    requests += data.draw(st.lists(raw_paths(), max_size=4))
    with inline_limits(budget, 0, tree):
        check(ids, requests)


@SETTINGS
@given(st.lists(st.sampled_from(WORDS[:8] + ["[p]", "[[o]]", "[...r]", "[[...r]]"]),
                min_size=1, max_size=3).map("/".join).flatmap(
           lambda prefix: st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f", "[q]", "[...t]"]),
                                   max_size=2).map(lambda rest: "/".join([prefix, *rest]))),
       st.data())
def test_wide_tables_agree_with_the_walk(extra: str, data: st.DataObject) -> None:
    # More static children per node than are compared one by one: a dict picks the child.
    ids = list(dict.fromkeys([f"docs/{w}" for w in "abcdefgh"] + [f"{w}/[id]" for w in "abcdefgh"]
                             + [extra]))
    requests = data.draw(st.lists(st.one_of(paths_near(ids), raw_paths()), max_size=12))
    check(ids, [*requests, "/docs/a", "/c/42", "/docs/h/", "/x"])


def test_route_text_never_becomes_code() -> None:
    # Route names come from file names; the generated source must not contain them.
    evil = ['a"); import os; ("', "b\n    return 1", "c'''", "[x]"]
    table = build_table([f"{evil[0]}/[id]", f"{evil[1]}/{evil[2]}", "docs/[...rest]"])
    assert table.match(f"/{evil[0]}/7").params == {"id": "7"}
    m = table.match(f"/{quote(evil[1])}/{evil[2]}")
    assert m is not None and m.route == f"{evil[1]}/{evil[2]}"
    assert table.match("/docs/" + evil[0]).params == {"rest": [evil[0]]}
    sources = [table._matcher.source, table._matcher.subtree_source(evil[0]) or ""]
    assert not any(name in source for name in evil[:3] for source in sources)


def test_static_subtrees_the_fast_path_answers_leave_no_gap() -> None:
    # Paths of static parts only are the static fast path's: the generated code leaves them
    # out, down to whole subtrees with nothing else (here one too large to look through).
    deep = [f"docs/{a}/{b}" for a in range(10) for b in range(10)]
    ids = [*deep, "users/me", "users/[id]", "a b/[x]", "a b", "shop/cart", "shop/[...rest]"]
    table = build_table(ids)
    assert table.match("/docs/3/7").route == "docs/3/7"
    assert table.match("/docs/3/7/").route == "docs/3/7"
    assert table.match("/docs/3") is None and table.match("/docs/3/7/1") is None
    assert table.match("/users/me").route == "users/me"
    assert table.match("/users/42").params == {"id": "42"}
    assert table.match("/a%20b").route == "a b"
    assert table.match("/a%20b/1").params == {"x": "1"}
    assert table.match("/shop/cart").route == "shop/cart"
    assert table.match("/shop/cart/1").params == {"rest": ["cart", "1"]}
    for path in ["/docs/3/7", "/docs/x", "/users/me", "/users/me/x", "/a%20b", "/shop/cart"]:
        assert answer(table.match, path) == answer(lambda p: walked(table._matcher, p), path)


def test_deep_and_wide_tables() -> None:
    deep = "/".join(f"s{i}" if i % 3 else f"[p{i}]" for i in range(60))
    wide = [f"w/{i}" for i in range(300)] + [f"w/{i}/[id]" for i in range(300)]
    table = build_table([deep, *wide, "w/[...rest]"])
    path = "/" + "/".join(f"s{i}" if i % 3 else f"v{i}" for i in range(60))
    m = table.match(path)
    assert m is not None and m.route == deep and m.params["p57"] == "v57"
    assert table.match("/w/299/x").params == {"id": "x"}
    assert table.match("/w/300/x").params == {"rest": ["300", "x"]}
    assert table.match("/w/12").route == "w/12"


def test_an_updated_matcher_leaves_the_old_one_answering_as_before() -> None:
    old = build_table(["users/[id]", "users/me", "docs/[...rest]"])
    assert old.match("/users/7") is not None  # makes the code for "users"
    new = build_table(["users/[id]", "users/me", "docs/[...rest]", "users/[id]/posts"], previous=old)
    assert new.match("/users/7/posts").route == "users/[id]/posts"
    assert old.match("/users/7/posts") is None
    assert old.match("/docs/a").params == new.match("/docs/a").params == {"rest": ["a"]}
