"""``RouteTable.explain``: the winner, its params, and why every other route lost (DESIGN §6 URL tester)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devserver.routing import Candidate, Explanation, InvalidPath, RouteFile, build_table

from .test_precedence import GOLDEN, GOLDEN_PATHS


def outcomes(explanation: Explanation) -> list[tuple[str, str, str]]:
    return [(c.route, c.outcome, c.reason) for c in explanation.candidates]


def test_static_route_loses_to_dynamic_on_another_word() -> None:
    table = build_table(["docs/quickstart", "docs/$slug", "docs/[[...rest]]"])
    e = table.explain("/docs/glossary")
    assert (e.status, e.winner, e.params) == (200, "docs/$slug", {"slug": "glossary"})
    assert outcomes(e) == [
        ("docs/quickstart", "no-match", "static `quickstart` ≠ `glossary`"),
        ("docs/$slug", "winner", "matches"),
        ("docs/[[...rest]]", "outranked", "outranked by docs/$slug"),
    ]
    assert e.summary == "docs/$slug answers /docs/glossary"


def test_dynamic_route_is_outranked_by_static() -> None:
    e = build_table(["docs/quickstart", "docs/$slug"]).explain("/docs/quickstart")
    assert (e.status, e.winner, e.params) == (200, "docs/quickstart", {})
    assert outcomes(e) == [
        ("docs/quickstart", "winner", "matches"),
        ("docs/$slug", "outranked", "outranked by docs/quickstart"),
    ]
    # An outranked candidate still shows what it would have taken.
    assert e.candidates[1].params == {"slug": "quickstart"}


def test_candidates_come_in_precedence_order_with_ranks() -> None:
    table = build_table(GOLDEN)
    e = table.explain("/post/1")
    assert [c.route for c in e.candidates] == GOLDEN
    assert [c.rank for c in e.candidates] == list(range(1, len(GOLDEN) + 1))
    assert [c.pattern for c in e.candidates][:3] == ["/", "/Zebra", "/a/b/[y]"]
    assert [c.outcome for c in e.candidates].count("winner") == 1


@pytest.mark.parametrize(("path", "route"), list(GOLDEN_PATHS.items()))
def test_explain_agrees_with_match(path: str, route: str) -> None:
    table = build_table(GOLDEN)
    found = table.match(path)
    e = table.explain(path)
    assert found is not None
    assert (e.status, e.winner, e.params) == (200, route, found.params)


REASONS = [
    # (routes, path, the route to look at, its reason)
    (["post/[...slug]"], "/post", "post/[...slug]", "needs at least one more segment"),
    (["docs/$$"], "/docs", "docs/$$", "needs at least one more segment"),
    (["users/[id]"], "/users", "users/[id]", "needs one more segment"),
    (["users/[id]/posts/[pid]"], "/users/1", "users/[id]/posts/[pid]", "needs 2 more segments"),
    (["a/[x]/[...r]"], "/a", "a/[x]/[...r]", "needs at least 2 more segments"),
    (["users/[id]/[[tab]]"], "/users", "users/[id]/[[tab]]", "needs one more segment"),
    (["users/[id]"], "/users/1/2", "users/[id]", "path has one extra segment: `/2`"),
    (["index"], "/a/b", "index", "path has 2 extra segments: `/a/b`"),
    (["users/[[id]]"], "/users/1/2", "users/[[id]]", "path has one extra segment: `/2`"),
    (["about"], "/About", "about", "static `about` ≠ `About`"),
    (["users/[id]"], "/users//", "users/[id]", "empty segment cannot be the value of `[id]`"),
    (["docs/[...p]"], "/docs/a//b", "docs/[...p]", "empty segment in the part `[...p]` would take"),
    (["users/$id/posts"], "/users/a%2Fb/likes", "users/$id/posts", "static `posts` ≠ `likes`"),
]


@pytest.mark.parametrize(("routes", "path", "route", "reason"), REASONS,
                         ids=[f"{r[2]}:{r[1]}" for r in REASONS])
def test_reason_in_words(routes: list[str], path: str, route: str, reason: str) -> None:
    e = build_table([*routes, "zzz"]).explain(path)
    [candidate] = [c for c in e.candidates if c.route == route]
    assert (candidate.outcome, candidate.reason) == ("no-match", reason)


def test_invalid_route_that_would_match_says_why_it_is_not_served() -> None:
    table = build_table([RouteFile("blog/[...id]/abc", "api", "app/api/blog/[...id]/abc.py"),
                         RouteFile("blog/[...rest]", "api", "app/api/blog/[...rest].py")])
    e = table.explain("/blog/x/abc")
    assert e.winner == "blog/[...rest]"
    [invalid] = [c for c in e.candidates if c.route == "blog/[...id]/abc"]
    assert invalid.outcome == "invalid"
    assert re.match(r"not served: app/api/blog/\[\.\.\.id\]/abc\.py: "
                    r"catch-all `\[\.\.\.id\]` must be the last", invalid.reason)


# --- status codes ------------------------------------------------------------------------------------

METHODS = {"users/[id]": frozenset({"GET", "POST"}), "about": frozenset({"GET"}),
           "hook": frozenset({"POST"})}
TABLE = build_table(["users/[id]", "about", "hook", "docs/[...p]"])


def test_405_when_the_module_lacks_the_method() -> None:
    e = TABLE.explain("/about", method="POST", methods=METHODS)
    assert (e.status, e.winner, e.method) == (405, "about", "POST")
    [about] = [c for c in e.candidates if c.route == "about"]
    assert (about.outcome, about.reason) == ("wrong-method", "method POST not exported: 405")
    assert e.summary == "about matches, but method POST not exported: 405"
    assert e.allowed == ("GET", "HEAD", "OPTIONS")


@pytest.mark.parametrize(("path", "method", "status"), [
    ("/users/1", "GET", 200),
    ("/users/1", "POST", 200),
    ("/users/1", "post", 200),
    ("/users/1", "DELETE", 405),
    ("/users/1", "HEAD", 200),  # HEAD is answered from get (DESIGN §3)
    ("/users/1", "OPTIONS", 200),  # OPTIONS answers 204 with Allow (DESIGN §3)
    ("/hook", "GET", 405),
    ("/hook", "HEAD", 405),
    ("/hook", "OPTIONS", 200),
    ("/docs/a", "DELETE", 200),  # no methods known for the route: no opinion
])
def test_method_status(path: str, method: str, status: int) -> None:
    e = TABLE.explain(path, method=method, methods=METHODS)
    assert e.status == status
    assert e.method == method.upper()


def test_allowed_lists_what_the_route_answers() -> None:
    assert TABLE.explain("/users/1", methods=METHODS).allowed == ("GET", "HEAD", "OPTIONS", "POST")
    assert TABLE.explain("/hook", "PUT", methods=METHODS).allowed == ("OPTIONS", "POST")
    assert TABLE.explain("/users/1").allowed == ()


def test_404_with_suggestions() -> None:
    table = build_table(["about", "docs/quickstart", "users/[id]", "contact"])
    e = table.explain("/abuot")
    assert (e.status, e.winner, e.params) == (404, None, {})
    assert e.summary == "no route matches /abuot"
    assert e.suggestions == ("/about",)
    assert all(c.outcome == "no-match" for c in e.candidates)
    assert table.explain("/Docs/quickstart").suggestions == ("/docs/quickstart",)
    assert table.explain("/zzzzzzzzzz/yyyyyy").suggestions == ()


def test_404_closest_candidates_first() -> None:
    table = build_table(["about", "users/[id]", "users/[id]/posts/[pid]", "docs/[...p]"])
    e = table.explain("/users/1/posts")
    assert e.status == 404
    assert [c.route for c in e.closest(2)] == ["users/[id]/posts/[pid]", "users/[id]"]
    assert e.closest(2)[0].reason == "needs one more segment"


@pytest.mark.parametrize("path", ["/users/%zz", "/users/%", "/users/%ff", "/docs/a/%E2%82"])
def test_400_on_bad_encoding(path: str) -> None:
    e = TABLE.explain(path)
    assert (e.status, e.winner, e.candidates) == (400, None, ())
    assert re.search(r"segment `.*%.*`", e.summary), e.summary


def test_500_when_the_winner_conflicts_naming_the_files() -> None:
    table = build_table([RouteFile("users/[id]", "api", "app/api/users/[id].py"),
                         RouteFile("users/[slug]", "api", "app/api/users/[slug].py"),
                         RouteFile("about", "api", "app/api/about.py")])
    e = table.explain("/users/1")
    assert (e.status, e.winner, e.params) == (500, "users/[id]", {"id": "1"})
    assert re.match(r"app/api/users/\[id\]\.py and app/api/users/\[slug\]\.py both map to /users/:param",
                    e.summary)
    [slug] = [c for c in e.candidates if c.route == "users/[slug]"]
    assert slug.outcome == "invalid"
    assert slug.reason.startswith("not served: app/api/users/[id].py and app/api/users/[slug].py")
    assert table.explain("/about").status == 200


def test_500_for_an_invalid_route_that_matches() -> None:
    e = build_table(["users/[[id]]/posts"]).explain("/users/1/posts")
    assert (e.status, e.winner, e.params) == (500, "users/[[id]]/posts", {"id": "1"})
    assert "only optional segments may follow an optional one" in e.summary


def test_query_and_fragment_are_ignored() -> None:
    e = TABLE.explain("/users/7?x=%zz#frag")
    assert (e.status, e.path, e.params) == (200, "/users/7", {"id": "7"})


def test_as_dict() -> None:
    e = TABLE.explain("/users/1", "DELETE", methods=METHODS)
    data = e.as_dict()
    assert data["status"] == 405
    assert data["winner"] == "users/[id]"
    assert data["params"] == {"id": "1"}
    assert data["allowed"] == ["GET", "HEAD", "OPTIONS", "POST"]
    assert data["suggestions"] == []
    candidates = data["candidates"]
    assert isinstance(candidates, list)
    assert candidates[0] == {"rank": 1, "route": "about", "pattern": "/about", "outcome": "no-match",
                             "reason": "static `about` ≠ `users`", "params": None}
    assert isinstance(e.candidates[0], Candidate)


# --- explain and match never disagree --------------------------------------------------------------

SPELLINGS = ["a", "b", "[x]", "$y", "[[o]]", "[...r]", "[[...q]]", "$$", "index", "[[x]", "book-[x]"]
PATH_SEGMENTS = ["a", "b", "c", "index", "", "%zz", "%2F", "A", "book-[x]"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(st.sampled_from(SPELLINGS), max_size=4).map("/".join), min_size=1, max_size=8),
       st.lists(st.sampled_from(PATH_SEGMENTS), max_size=5))
def test_explain_and_match_agree(ids: list[str], segs: list[str]) -> None:
    table = build_table(ids)
    path = "/" + "/".join(segs)
    e = table.explain(path)
    try:
        found = table.match(path)
    except InvalidPath:
        assert e.status == 400
        return
    assert e.winner == (found.route if found is not None else None)
    if found is None:
        assert e.status == 404
        return
    assert e.params == found.params
    assert e.status == (500 if found.spec.errors else 200)
    assert [c.outcome for c in e.candidates].count("winner") == 1


@pytest.mark.parametrize("path", ["/", "//", "///", "/a//", "//a", "/a/", "/a?x", "a"])
def test_explain_and_match_agree_on_slashes(path: str) -> None:
    table = build_table(["index", "a", "[x]", "[[...all]]"])
    found = table.match(path)
    assert table.explain(path).winner == (found.route if found is not None else None)
