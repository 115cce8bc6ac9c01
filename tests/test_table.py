"""``build_table`` and ``RouteTable.match``: what each spelling matches and how paths are read (§2)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import devserver.routing
from devserver.routing import InvalidPath, Kind, Route, RouteFile, RouteTable, build_table, parse_route_id


def match(table: RouteTable, path: str) -> tuple[str, dict[str, object]] | None:
    found = table.match(path)
    return None if found is None else (found.route, found.params)


def test_public_api() -> None:
    assert sorted(devserver.routing.__all__) == [
        "Candidate", "Explanation", "InvalidPath", "Kind", "Match", "Problem", "Route", "RouteFile",
        "RouteTable", "Segment", "build_table", "parse_route_id", "parse_segment", "route_dict"]
    for name in devserver.routing.__all__:
        assert getattr(devserver.routing, name) is not None


# --- what each row of the DESIGN §2 table matches, and the value it gives ---------------------------

ROWS = [
    # (route id, path, expected params or None for no match)
    ("users", "/users", {}),
    ("users", "/users/x", None),
    ("data.json", "/data.json", {}),
    ("data.json", "/data.jsonx", None),
    ("users/$id", "/users/42", {"id": "42"}),
    ("users/[id]", "/users/42", {"id": "42"}),
    ("users/[id]", "/users", None),
    ("users/[id]", "/users/42/x", None),
    ("users/[[id]]", "/users/42", {"id": "42"}),
    ("users/[[id]]", "/users", {}),
    ("users/[[id]]", "/users/42/x", None),
    ("docs/[...rest]", "/docs/a", {"rest": ["a"]}),
    ("docs/[...rest]", "/docs/a/b", {"rest": ["a", "b"]}),
    ("docs/[...rest]", "/docs", None),
    ("docs/$$", "/docs/a/b", {"proxy": ["a", "b"]}),
    ("docs/$$", "/docs", None),
    ("docs/[[...rest]]", "/docs", {}),
    ("docs/[[...rest]]", "/docs/a", {"rest": ["a"]}),
    ("docs/[[...rest]]", "/docs/a/b/c", {"rest": ["a", "b", "c"]}),
    ("posts/index", "/posts", {}),
    ("posts/index", "/posts/index", None),
    ("index", "/", {}),
    ("index", "/index", None),
]


@pytest.mark.parametrize(("route_id", "path", "params"), ROWS, ids=[f"{r}:{p}" for r, p, _ in ROWS])
def test_grammar_row_matches(route_id: str, path: str, params: dict[str, object] | None) -> None:
    table = build_table([route_id])
    assert match(table, path) == (None if params is None else (route_id, params))


def test_mixed_segments_match_only_their_literal_text() -> None:
    table = build_table(["products/book-[id]", "results.[ext]", "shop/[category]-sale", "items/item-$id"])
    assert match(table, "/products/book-123") is None
    assert match(table, "/products/book-[id]") == ("products/book-[id]", {})
    assert match(table, "/results.json") is None
    assert match(table, "/results.[ext]") == ("results.[ext]", {})
    assert match(table, "/shop/electronics-sale") is None
    assert match(table, "/shop/[category]-sale") == ("shop/[category]-sale", {})
    assert match(table, "/items/item-5") is None
    assert match(table, "/items/item-$id") == ("items/item-$id", {})
    assert {p.rule for p in table.problems} == {"mixed-segment"}
    assert {r.status for r in table.routes} == {"warning"}


def test_several_parameters() -> None:
    table = build_table(["orgs/$org/repos/[repo]/files/[...path]", "users/[id]/[[section]]/[[sub]]"])
    assert match(table, "/orgs/acme/repos/web/files/a/b") == (
        "orgs/$org/repos/[repo]/files/[...path]", {"org": "acme", "repo": "web", "path": ["a", "b"]})
    assert match(table, "/users/1") == ("users/[id]/[[section]]/[[sub]]", {"id": "1"})
    assert match(table, "/users/1/a") == ("users/[id]/[[section]]/[[sub]]", {"id": "1", "section": "a"})
    assert match(table, "/users/1/a/b") == (
        "users/[id]/[[section]]/[[sub]]", {"id": "1", "section": "a", "sub": "b"})
    assert match(table, "/users/1/a/b/c") is None
    assert match(table, "/users") is None


def test_optional_then_optional_catchall() -> None:
    table = build_table(["a/[[x]]/[[...rest]]"])
    assert match(table, "/a") == ("a/[[x]]/[[...rest]]", {})
    assert match(table, "/a/1") == ("a/[[x]]/[[...rest]]", {"x": "1"})
    assert match(table, "/a/1/2/3") == ("a/[[x]]/[[...rest]]", {"x": "1", "rest": ["2", "3"]})


def test_root_routes() -> None:
    assert match(build_table(["[[...all]]"]), "/") == ("[[...all]]", {})
    assert match(build_table(["[[...all]]"]), "/a/b") == ("[[...all]]", {"all": ["a", "b"]})
    assert match(build_table(["[...all]"]), "/") is None
    assert match(build_table(["[[lang]]"]), "/") == ("[[lang]]", {})
    assert match(build_table(["$$"]), "/x") == ("$$", {"proxy": ["x"]})
    assert match(build_table([]), "/") is None


# --- how a path is read: percent-decoding, slashes, case ---------------------------------------------

TABLE = build_table(["users/[id]", "users/[id]/posts", "docs/[...path]", "files/[[...p]]", "about",
                     "index", "café", "a b", "opt/[[x]]"])

PATHS = [
    ("/users/a%2Fb", ("users/[id]", {"id": "a/b"})),
    ("/users/a%2fb", ("users/[id]", {"id": "a/b"})),
    ("/users/a+b", ("users/[id]", {"id": "a+b"})),
    ("/users/a%2Bb", ("users/[id]", {"id": "a+b"})),
    ("/users/a%20b", ("users/[id]", {"id": "a b"})),
    ("/users/%C3%A9t%C3%A9", ("users/[id]", {"id": "été"})),
    ("/users/%252F", ("users/[id]", {"id": "%2F"})),  # decoded once, not twice
    ("/users/%2F", ("users/[id]", {"id": "/"})),
    ("/users/a%2Fb/posts", ("users/[id]/posts", {"id": "a/b"})),
    ("/docs/a%2Fb/c", ("docs/[...path]", {"path": ["a/b", "c"]})),
    ("/docs/a%2Fb", ("docs/[...path]", {"path": ["a/b"]})),
    ("/caf%C3%A9", ("café", {})),
    ("/café", ("café", {})),
    ("/a%20b", ("a b", {})),
    ("/ab%6Fut", ("about", {})),
    ("/users/42?tab=%zz#x", ("users/[id]", {"id": "42"})),
    ("/about?x=1", ("about", {})),
    ("/about#top", ("about", {})),
    # one trailing slash is tolerated, two are not
    ("/users/42/", ("users/[id]", {"id": "42"})),
    ("/users/42//", None),
    ("/about/", ("about", {})),
    ("/about//", None),
    ("/docs/a/b/", ("docs/[...path]", {"path": ["a", "b"]})),
    ("/docs/a/b//", None),
    ("/files/", ("files/[[...p]]", {})),
    ("/opt/", ("opt/[[x]]", {})),
    ("/", ("index", {})),
    # an empty segment is never a value
    ("/users//", None),
    ("/users//posts", None),
    ("//users/42", None),
    ("/docs//a", None),
    ("/docs/a//b", None),
    ("/files//", None),
    ("/files/a//b", None),
    ("/opt//", None),
    # case-sensitive
    ("/About", None),
    ("/ABOUT", None),
    ("/Users/42", None),
    ("/users/ABC", ("users/[id]", {"id": "ABC"})),
]


@pytest.mark.parametrize(("path", "expected"), PATHS, ids=[p for p, _ in PATHS])
def test_path_reading(path: str, expected: tuple[str, dict[str, object]] | None) -> None:
    assert match(TABLE, path) == expected


@pytest.mark.parametrize("path", ["/users/%zz", "/users/%", "/users/%2", "/users/a%g0", "/users/%ff",
                                  "/users/%C3", "/users/%E2%82", "/users/%C3%28", "/docs/a/%zz/b",
                                  "/%zz", "/about/%"])
def test_invalid_encoding_raises_invalid_path(path: str) -> None:
    with pytest.raises(InvalidPath) as info:
        TABLE.match(path)
    assert info.value.path.startswith(path.split("?")[0])
    assert "`" in info.value.reason
    assert isinstance(info.value, ValueError)


def test_invalid_encoding_in_the_query_is_not_the_paths_business() -> None:
    assert match(TABLE, "/about?q=%zz") == ("about", {})


# Static route names are compared with decoded path segments; the raw path must never be compared
# with a route's file name (matcher.py's static fast path does, see the report).
STATIC_ODDITIES = [
    ("a%20b", "/a%20b", None),  # decodes to `a b`
    ("a%20b", "/a%2520b", ("a%20b", {})),
    ("100%", "/100%25", ("100%", {})),
    ("x/a%2Fb", "/x/a%2Fb", None),  # decodes to the one segment `a/b`
    ("x/a%2Fb", "/x/a%252Fb", ("x/a%2Fb", {})),
    ("a?b", "/a%3Fb", ("a?b", {})),
    ("a?b", "/a?b", None),  # `?b` is a query
]


@pytest.mark.parametrize(("route_id", "path", "expected"), STATIC_ODDITIES,
                         ids=[f"{r}:{p}" for r, p, _ in STATIC_ODDITIES])
def test_static_names_are_compared_after_decoding(route_id: str, path: str,
                                                  expected: tuple[str, dict[str, object]] | None) -> None:
    assert match(build_table([route_id]), path) == expected


def test_invalid_encoding_is_invalid_even_when_a_static_file_has_that_name() -> None:
    with pytest.raises(InvalidPath):
        build_table(["100%"]).match("/100%")


# --- the table as data ---------------------------------------------------------------------------------


def test_routes_carry_rank_files_params_and_status() -> None:
    table = build_table([
        RouteFile("users/$id", "api", "app/api/users/$id.py"),
        RouteFile("users/[id]", "page", "app/pages/users/[id].html"),
        RouteFile("about", "page", "app/pages/about.html"),
        RouteFile("docs/[...path]", "api", "app/api/docs/[...path].py"),
    ])
    assert [(table.rank(r), r.id) for r in table.routes] == [
        (1, "about"), (2, "docs/[...path]"), (3, "users/$id")]
    users = table.get("users/$id")
    assert users is not None
    assert (users.has_api, users.has_page) == (True, True)
    assert users.files == ("app/api/users/$id.py", "app/pages/users/[id].html")
    assert users.page_id == "users/[id]"
    assert users.pattern == "/users/$id"
    assert users.shape == "/users/:param"
    assert users.params == (("id", "dynamic"),)
    assert users.status == "ok"
    about = table.get("about")
    assert about is not None and (about.has_api, about.has_page, about.api_file) == (False, True, None)
    docs = table.get("docs/[...path]")
    assert docs is not None and docs.params == (("path", "catch-all"),)
    assert len(table) == 3
    assert table.problems == ()


def test_routes_equal_the_records_spelled_out() -> None:
    """A built route is the ``Route`` record its fields make, equal and hashed alike (the build
    makes its records without the dataclass constructor)."""
    table = build_table([
        RouteFile("users/$id", "api", "app/api/users/$id.py"),
        RouteFile("users/[id]", "page", "app/pages/users/[id].html"),
        RouteFile("book-[id]", "page"),
    ])
    users = Route("users/$id", parse_route_id("users/$id").segments, has_api=True, has_page=True,
                  api_file="app/api/users/$id.py", page_file="app/pages/users/[id].html",
                  page_id="users/[id]")
    book = parse_route_id("book-[id]")
    lone = Route("book-[id]", book.segments, has_api=False, has_page=True, page_id="book-[id]",
                 problems=book.problems)
    assert list(table.routes) == [lone, users]
    assert [hash(r) for r in table.routes] == [hash(lone), hash(users)]
    assert [repr(r) for r in table.routes] == [repr(lone), repr(users)]


def test_as_dict_is_plain_data() -> None:
    table = build_table([RouteFile("users/[id]", "api", "app/api/users/[id].py"),
                         RouteFile("users/[slug]", "api", "app/api/users/[slug].py")])
    data = table.as_dict()
    routes = data["routes"]
    assert isinstance(routes, list)
    assert routes[0] == {
        "rank": 1, "id": "users/[id]", "pattern": "/users/[id]", "shape": "/users/:param",
        "api_file": "app/api/users/[id].py", "page_file": None,
        "params": [{"name": "id", "kind": "dynamic"}], "status": "conflict",
        "problems": [table.problems[0].as_dict()]}
    assert data["problems"] == [p.as_dict() for p in table.problems]
    assert table.problems[0].as_dict()["files"] == ["app/api/users/[id].py", "app/api/users/[slug].py"]


def test_duplicate_entries_are_one_route() -> None:
    table = build_table(["users/[id]", "users/[id]", RouteFile("users/[id]")])
    assert [r.id for r in table.routes] == ["users/[id]"]
    assert table.problems == ()


def test_problems_are_sorted_errors_first() -> None:
    table = build_table(["users/[id]", "users/[uid]/posts", "book-[id]", "a/[...x]/b"])
    assert [p.severity for p in table.problems] == ["error", "warning", "note"]


# --- the trie agrees with "first route in precedence order that matches" ----------------------------


def reference_match(table: RouteTable, segs: Sequence[str]) -> tuple[str, dict[str, object]] | None:
    """DESIGN §2 read literally: walk the routes in precedence order, the first full match wins."""
    for route in table.routes:
        params = _match_one(route.id, segs)
        if params is not None:
            return route.id, params
    return None


def _match_one(route_id: str, segs: Sequence[str]) -> dict[str, object] | None:
    segments = parse_route_id(route_id).segments

    def go(si: int, pi: int) -> dict[str, object] | None:
        if si == len(segments):
            return {} if pi == len(segs) else None
        seg = segments[si]
        if seg.kind is Kind.STATIC:
            return go(si + 1, pi + 1) if pi < len(segs) and segs[pi] == seg.name else None
        if seg.kind in (Kind.DYNAMIC, Kind.OPTIONAL):
            if pi < len(segs) and segs[pi]:
                rest = go(si + 1, pi + 1)
                if rest is not None:
                    return {seg.name: segs[pi], **rest}
            return go(si + 1, pi) if seg.kind is Kind.OPTIONAL else None
        taken = list(segs[pi:])  # a catch-all is last: it takes everything left
        if "" in taken or (seg.kind is Kind.CATCHALL and not taken):
            return None
        return {seg.name: taken} if taken else {}

    return go(0, 0)


SEGMENT_SPELLINGS = ["a", "b", "[x]", "$y", "[[o]]", "[...r]", "[[...q]]", "$$", "index"]


@st.composite
def route_sets(draw: st.DrawFn) -> list[str]:
    ids = draw(st.lists(st.lists(st.sampled_from(SEGMENT_SPELLINGS), max_size=4).map("/".join),
                        min_size=1, max_size=8))
    # Only routes that are valid on their own: invalid ones are matched apart, after the trie.
    return [i for i in ids if parse_route_id(i).valid]


@settings(max_examples=300, deadline=None)
@given(route_sets(), st.lists(st.sampled_from(["a", "b", "c", "index", ""]), max_size=5))
def test_trie_agrees_with_the_precedence_order(ids: list[str], segs: list[str]) -> None:
    assume(segs != [""])  # `//`: whether that is `/` with a trailing slash is not this test's question
    table = build_table(ids)
    path = "/" + "/".join(segs)
    if segs and segs[-1] == "":
        path += "/"  # keep the empty last segment: one trailing slash alone is dropped
    assert match(table, path) == reference_match(table, segs), [r.id for r in table.routes]
