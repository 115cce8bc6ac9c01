"""Invalid and conflicting route sets (DESIGN §2): one tiny case per rule, and API + page pairing.

Each case is a little file tree given as ``RouteFile`` records, so messages must name the files.
"""

from __future__ import annotations

import re

import pytest

from devserver.routing import Problem, RouteFile, RouteTable, build_table


def api(route_id: str) -> RouteFile:
    return RouteFile(route_id, "api", f"app/api/{route_id}.py")


def page(route_id: str) -> RouteFile:
    return RouteFile(route_id, "page", f"app/pages/{route_id}.html")


def f(route_id: str) -> str:
    """The API file of a route id, as a regex."""
    return re.escape(f"app/api/{route_id}.py")


def only_problem(table: RouteTable) -> Problem:
    [problem] = table.problems
    return problem


CASES = [
    # (case id, files, severity, rule, message regex)
    ("same-shape-names-differ", [api("users/[id]"), api("users/[slug]")], "error", "duplicate-route",
     rf"{f('users/[id]')} and {f('users/[slug]')} both map to /users/:param .*; keep one of them"),
    ("same-shape-two-spellings", [api("users/[id]"), api("users/$id")], "error", "duplicate-route",
     rf"{f('users/$id')} and {f('users/[id]')} both map to /users/:param; keep one of them"),
    ("file-beside-index", [api("posts"), api("posts/index")], "error", "duplicate-route",
     rf"{f('posts')} and {f('posts/index')} both map to /posts; keep one of them"),
    ("file-beside-index-with-a-page", [api("posts"), page("posts"), api("posts/index")], "error",
     "duplicate-route",
     r"app/api/posts\.py and app/pages/posts\.html and app/api/posts/index\.py all map to /posts; keep one"),
    ("two-catchalls-required-and-optional", [api("docs/[...a]"), api("docs/[[...b]]")], "error",
     "two-catchalls",
     rf"{f('docs/[...a]')} and {f('docs/[[...b]]')} are two catch-alls at one level \(/docs/…\); keep one"),
    ("two-catchalls-two-spellings", [api("docs/$$"), api("docs/[...path]")], "error", "two-catchalls",
     rf"{f('docs/$$')} and {f('docs/[...path]')} are two catch-alls at one level \(/docs/…\)"),
    ("two-optional-catchalls", [api("[[...a]]"), api("[[...b]]")], "error", "two-catchalls",
     rf"{f('[[...a]]')} and {f('[[...b]]')} are two catch-alls at one level \(/…\)"),
    ("index-beside-optional-catchall", [api("index"), api("[[...all]]")], "error",
     "index-beside-optional-catchall",
     rf"{f('index')} and {f('[[...all]]')} both answer /: an optional catch-all also matches zero "
     r"segments; remove one, or make the catch-all required \(`\[\.\.\.all\]`\)"),
    ("folder-index-beside-optional-catchall", [api("docs/index"), api("docs/[[...all]]")], "error",
     "index-beside-optional-catchall", rf"{f('docs/index')} and {f('docs/[[...all]]')} both answer /docs:"),
    ("catchall-not-last", [api("blog/[...id]/abc")], "error", "catchall-not-last",
     rf"{f('blog/[...id]/abc')}: catch-all `\[\.\.\.id\]` must be the last segment, but `abc` follows it"),
    ("required-after-optional", [api("users/[[id]]/[name]")], "error", "required-after-optional",
     rf"{f('users/[[id]]/[name]')}: dynamic segment `\[name\]` follows the optional `\[\[id\]\]`"),
    ("static-after-optional", [api("users/[[id]]/posts")], "error", "required-after-optional",
     rf"{f('users/[[id]]/posts')}: static segment `posts` follows the optional `\[\[id\]\]`"),
    ("parameter-name-twice", [api("a/[id]/b/$id")], "error", "duplicate-param",
     rf"{f('a/[id]/b/$id')}: parameter name `id` is used twice"),
    ("malformed-open-bracket", [api("users/[[id]")], "error", "malformed-segment",
     rf"{f('users/[[id]')}: malformed bracket in `\[\[id\]`: the brackets are not balanced"),
    ("malformed-dots", [api("docs/[..id]")], "error", "malformed-segment",
     rf"{f('docs/[..id]')}: malformed bracket in `\[\.\.id\]`: a catch-all is spelled `\[\.\.\.name\]`"),
    ("reserved-routes", [api("__routes/index")], "error", "reserved-path",
     rf"{f('__routes/index')}: `/__routes` is reserved for devserver"),
    ("reserved-devserver", [page("__devserver/ws")], "error", "reserved-path",
     r"app/pages/__devserver/ws\.html: `/__devserver` is reserved for devserver"),
    ("mixed-segment", [api("products/book-[id]")], "warning", "mixed-segment",
     rf"{f('products/book-[id]')}: `book-\[id\]` is matched as static text"),
    ("index-beside-optional", [api("careers/index"), api("careers/[[id]]")], "note", "index-beside-optional",
     rf"{f('careers/index')} and {f('careers/[[id]]')} both match /careers; careers/index wins it"),
    ("param-names-differ-by-position", [api("users/[id]"), api("users/[userId]/posts")], "note",
     "param-names-differ",
     rf"{f('users/[id]')} and {f('users/[userId]/posts')} name the parameter at /users/:param differently "
     r"\(`id`, `userId`\); allowed"),
]


@pytest.mark.parametrize(("files", "severity", "rule", "message"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_rule(files: list[RouteFile], severity: str, rule: str, message: str) -> None:
    table = build_table(files)
    problem = only_problem(table)
    assert (problem.severity, problem.rule) == (severity, rule)
    assert re.match(message, problem.message), problem.message
    assert set(problem.files) == {file.file for file in files}
    assert set(problem.routes) <= {r.id for r in table.routes}
    for route in table.routes:
        assert problem in route.problems
        expected = {"warning": "warning", "note": "ok"}.get(severity)
        if expected is None:  # an error: a conflict between files, or one file's own mistake
            expected = "conflict" if len(problem.routes) > 1 else "error"
        assert route.status == expected


def test_without_files_messages_name_route_ids() -> None:
    problem = only_problem(build_table(["users/[id]", "users/[slug]"]))
    assert re.match(r"users/\[id\] and users/\[slug\] both map to /users/:param", problem.message)
    assert problem.files == ()
    assert problem.routes == ("users/[id]", "users/[slug]")


def test_three_files_of_one_shape_are_one_problem() -> None:
    problem = only_problem(build_table([api("u/[a]"), api("u/[b]"), api("u/$c")]))
    assert problem.rule == "duplicate-route"
    assert re.match(rf"{f('u/$c')} and {f('u/[a]')} and {f('u/[b]')} all map to /u/:param", problem.message)


def test_an_index_beside_an_optional_catchall_inside_a_dynamic_folder() -> None:
    problem = only_problem(build_table([api("u/[id]"), api("u/[id]/[[...rest]]")]))
    assert problem.rule == "index-beside-optional-catchall"
    assert "both answer /u/:param" in problem.message


def test_an_optional_beside_a_catchall_is_fine() -> None:
    table = build_table([api("docs/[[id]]"), api("docs/[...rest]")])
    assert table.problems == ()


# --- API + page of one shape: one route, not a conflict ---------------------------------------------


@pytest.mark.parametrize(("api_id", "page_id"), [
    ("users/[id]", "users/[id]"),
    ("users/$id", "users/[id]"),
    ("users/[id]", "users/$id"),
    ("posts/index", "posts"),
    ("posts", "posts/index"),
    ("docs/$$", "docs/[...proxy]"),
    ("index", "index"),
])
def test_api_and_page_of_one_shape_are_one_route(api_id: str, page_id: str) -> None:
    table = build_table([api(api_id), page(page_id)])
    [route] = table.routes
    assert table.problems == ()
    assert (route.id, route.has_api, route.has_page) == (api_id, True, True)
    assert route.files == (f"app/api/{api_id}.py", f"app/pages/{page_id}.html")
    assert route.page_id == page_id
    assert route.status == "ok"


def test_page_alone_is_a_route() -> None:
    table = build_table([page("about")])
    [route] = table.routes
    assert (route.id, route.has_api, route.has_page, route.files) == (
        "about", False, True, ("app/pages/about.html",))


def test_api_and_page_naming_the_parameter_differently_are_one_route_with_a_warning() -> None:
    table = build_table([api("users/[id]"), page("users/[slug]")])
    [route] = table.routes
    assert route.files == ("app/api/users/[id].py", "app/pages/users/[slug].html")
    problem = only_problem(table)
    assert (problem.severity, problem.rule) == ("warning", "page-param-names-differ")
    assert re.match(r"app/api/users/\[id\]\.py and app/pages/users/\[slug\]\.html are one route but name "
                    r"its parameters differently \(`id` in the API, `slug` in the page\)", problem.message)
    found = table.match("/users/7")
    assert found is not None and found.params == {"id": "7"}


def test_two_pages_of_one_shape_conflict() -> None:
    problem = only_problem(build_table([page("users/[id]"), page("users/$id")]))
    assert problem.rule == "duplicate-route"
    assert re.match(r"app/pages/users/\$id\.html and app/pages/users/\[id\]\.html both map", problem.message)


def test_a_page_pairs_with_its_own_api_and_the_other_api_conflicts() -> None:
    table = build_table([api("users/[id]"), api("users/$id"), page("users/[id]")])
    assert [(r.id, r.files) for r in table.routes] == [
        ("users/$id", ("app/api/users/$id.py",)),
        ("users/[id]", ("app/api/users/[id].py", "app/pages/users/[id].html")),
    ]
    problem = only_problem(table)
    assert problem.rule == "duplicate-route"
    assert re.match(r"app/api/users/\$id\.py and app/api/users/\[id\]\.py and app/pages/users/\[id\]\.html "
                    r"all map to /users/:param", problem.message)


def test_problems_of_the_page_file_stay_with_the_route() -> None:
    table = build_table([api("shop/book-[id]"), page("shop/book-[id]")])
    assert [p.files for p in table.problems] == [("app/api/shop/book-[id].py",),
                                                 ("app/pages/shop/book-[id].html",)]
    assert table.routes[0].status == "warning"


# --- a bad route set never stops the others -------------------------------------------------------


def test_conflicting_routes_still_match_and_others_keep_matching() -> None:
    table = build_table([api("users/[id]"), api("users/[slug]"), api("posts"), api("posts/index"),
                         api("about"), api("docs/[...path]"), api("blog/[slug]")])
    users = table.match("/users/1")
    assert users is not None and users.route == "users/[id]" and users.params == {"id": "1"}
    assert users.spec.status == "conflict"
    assert users.spec.errors[0].rule == "duplicate-route"
    posts = table.match("/posts")
    assert posts is not None and posts.route == "posts" and posts.spec.status == "conflict"
    for path, route in [("/about", "about"), ("/docs/a/b", "docs/[...path]"), ("/blog/x", "blog/[slug]")]:
        found = table.match(path)
        assert found is not None and found.route == route
        assert found.spec.status == "ok" and found.spec.problems == ()


@pytest.mark.parametrize(("route_id", "path", "params"), [
    ("blog/[...id]/abc", "/blog/x/abc", {"id": ["x"]}),
    ("blog/[...id]/abc", "/blog/x/y/abc", {"id": ["x", "y"]}),
    ("users/[[id]]/posts", "/users/posts", {}),
    ("users/[[id]]/posts", "/users/1/posts", {"id": "1"}),
    ("a/[x]/[x]", "/a/1/2", None),
    ("users/[[id]", "/users/[[id]", {}),
    ("__routes/x", "/__routes/x", {}),
])
def test_an_invalid_route_still_matches_so_it_can_answer_500(route_id: str, path: str,
                                                             params: dict[str, object] | None) -> None:
    table = build_table([api(route_id), api("about")])
    found = table.match(path)
    assert found is not None and found.route == route_id and found.spec.errors
    if params is not None:
        assert found.params == params
    about = table.match("/about")
    assert about is not None and about.spec.status == "ok"


def test_every_problem_appears_once_in_the_table() -> None:
    table = build_table([api("users/[id]"), api("users/[slug]"), api("users/$x"), page("users/[id]")])
    assert len(table.problems) == len(set(table.problems)) == 1
    assert all(len(r.problems) == len(set(r.problems)) for r in table.routes)
