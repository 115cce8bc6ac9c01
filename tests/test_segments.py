"""The route grammar of DESIGN §2: one segment (``parse_segment``) and one route id (``parse_route_id``)."""

from __future__ import annotations

import re

import pytest

from devserver.routing import Kind, Segment, build_table, parse_route_id, parse_segment
from devserver.routing.segments import SegmentError, looks_like_parameter

# Every row of the DESIGN §2 table, in every spelling it has: (text, kind, name).
GRAMMAR = [
    ("users", Kind.STATIC, "users"),
    ("data.json", Kind.STATIC, "data.json"),
    ("$id", Kind.DYNAMIC, "id"),
    ("[id]", Kind.DYNAMIC, "id"),
    ("[[id]]", Kind.OPTIONAL, "id"),
    ("[...rest]", Kind.CATCHALL, "rest"),
    ("$$", Kind.CATCHALL, "proxy"),
    ("[[...rest]]", Kind.OPTIONAL_CATCHALL, "rest"),
]


@pytest.mark.parametrize(("text", "kind", "name"), GRAMMAR, ids=[g[0] for g in GRAMMAR])
def test_grammar_row(text: str, kind: Kind, name: str) -> None:
    assert parse_segment(text) == Segment(kind, text, name)


@pytest.mark.parametrize("name", ["a", "_", "_private", "userId", "user_id2", "ID", "x9"])
def test_parameter_names_are_identifiers(name: str) -> None:
    for text, kind in ((f"[{name}]", Kind.DYNAMIC), (f"${name}", Kind.DYNAMIC),
                       (f"[[{name}]]", Kind.OPTIONAL), (f"[...{name}]", Kind.CATCHALL),
                       (f"[[...{name}]]", Kind.OPTIONAL_CATCHALL)):
        assert parse_segment(text) == Segment(kind, text, name)


def test_both_dynamic_spellings_have_one_shape() -> None:
    dollar, bracket = parse_segment("$id"), parse_segment("[id]")
    assert isinstance(dollar, Segment) and isinstance(bracket, Segment)
    assert dollar.shape() == bracket.shape() == ":param"


def test_both_catchall_spellings_have_one_shape() -> None:
    proxy, rest = parse_segment("$$"), parse_segment("[...rest]")
    assert isinstance(proxy, Segment) and isinstance(rest, Segment)
    assert proxy.shape() == rest.shape() == ":rest*"


def test_shapes_tell_the_kinds_apart() -> None:
    shapes = {text: parse_segment(text) for text, _kind, _name in GRAMMAR}
    assert {s.shape() for s in shapes.values() if isinstance(s, Segment)} == {
        "users", "data.json", ":param", ":param?", ":rest*", ":rest*?"}


def test_kinds_are_numbered_in_precedence_order() -> None:
    assert list(Kind) == sorted(Kind)
    assert [k.label for k in Kind] == [
        "end", "static", "dynamic", "optional", "catch-all", "optional catch-all"]
    assert [k for k in Kind if k.is_param] == [
        Kind.DYNAMIC, Kind.OPTIONAL, Kind.CATCHALL, Kind.OPTIONAL_CATCHALL]
    assert [k for k in Kind if k.is_optional] == [Kind.OPTIONAL, Kind.OPTIONAL_CATCHALL]
    assert [k for k in Kind if k.is_catchall] == [Kind.CATCHALL, Kind.OPTIONAL_CATCHALL]


# --- mixed segments: static text, with a warning ---------------------------------------------------

MIXED = ["book-[id]", "item-$id", "results.[ext]", "[category]-sale", "[id]x", "$id.json", "$$x",
         "x[[id]]", "a[...rest]", "pre-[[...rest]]", "[a]-[b]", "price$amount"]


@pytest.mark.parametrize("text", MIXED)
def test_mixed_segment_is_static_text(text: str) -> None:
    assert parse_segment(text) == Segment(Kind.STATIC, text, text)
    assert looks_like_parameter(text)


@pytest.mark.parametrize("text", MIXED)
def test_mixed_segment_gets_a_warning_naming_the_file(text: str) -> None:
    parsed = parse_route_id(f"shop/{text}", file=f"app/api/shop/{text}.py")
    assert parsed.valid
    [problem] = parsed.problems
    assert (problem.severity, problem.rule) == ("warning", "mixed-segment")
    assert problem.message.startswith(f"app/api/shop/{text}.py: ")
    assert re.search(r"matched as static text; a parameter must be the whole segment", problem.message)
    assert problem.files == (f"app/api/shop/{text}.py",)


@pytest.mark.parametrize("text", ["users", "data.json", "a-b_c.d", "index", "id]", "100%", "x$", "a[b",
                                  "]", "a$1"])
def test_plain_static_text_has_no_warning(text: str) -> None:
    assert parse_segment(text) == Segment(Kind.STATIC, text, text)
    assert parse_route_id(text + "/x").problems == ()


# --- invalid names and malformed brackets ------------------------------------------------------------

MALFORMED = {
    "[[id]": r"malformed bracket in `\[\[id\]`: the brackets are not balanced",
    "[id": r"malformed bracket in `\[id`: the brackets are not balanced",
    "[id]]": r"malformed bracket in `\[id\]\]`: the brackets are not balanced",
    "[[...rest]": r"malformed bracket in `\[\[\.\.\.rest\]`: the brackets are not balanced",
    "[..id]": r"malformed bracket in `\[\.\.id\]`: a catch-all is spelled `\[\.\.\.name\]`",
    "[.id]": r"malformed bracket in `\[\.id\]`: a catch-all is spelled `\[\.\.\.name\]`",
    "[[..id]]": r"malformed bracket in `\[\[\.\.id\]\]`: a catch-all is spelled `\[\[\.\.\.name\]\]`",
    "[]": r"`\[\]` is not a valid parameter",
    "[[]]": r"`\[\[\]\]` is not a valid parameter",
    "[...]": r"`\[\.\.\.\]` is not a valid parameter",
    "[1x]": r"`\[1x\]` is not a valid parameter: `1x` is not a name",
    "[a-b]": r"`\[a-b\]` is not a valid parameter: `a-b` is not a name",
    "[ id]": r"`\[ id\]` is not a valid parameter",
    "[[1x]]": r"`\[\[1x\]\]` is not a valid parameter",
    "[...1x]": r"`\[\.\.\.1x\]` is not a valid parameter",
    "$": r"`\$` is not a valid parameter: after `\$` comes a name",
    "$1x": r"`\$1x` is not a valid parameter",
    "$-x": r"`\$-x` is not a valid parameter",
}


@pytest.mark.parametrize("text", list(MALFORMED))
def test_malformed_segment_is_an_error_saying_why(text: str) -> None:
    parsed = parse_segment(text)
    assert isinstance(parsed, SegmentError)
    assert parsed.text == text
    assert re.match(MALFORMED[text], parsed.reason), parsed.reason


@pytest.mark.parametrize("text", list(MALFORMED))
def test_malformed_segment_makes_the_route_invalid(text: str) -> None:
    file = f"app/api/users/{text}.py"
    parsed = parse_route_id(f"users/{text}", file=file)
    assert not parsed.valid
    [problem] = [p for p in parsed.problems if p.rule == "malformed-segment"]
    assert problem.severity == "error"
    assert problem.message.startswith(f"{file}: ")
    assert re.search(MALFORMED[text], problem.message)
    assert problem.files == (file,)
    # The route keeps its text as a static segment, so it still has a pattern to show.
    assert parsed.segments[-1] == Segment(Kind.STATIC, text, text)


# --- route ids: index files, folders named index, structure rules ------------------------------------


def texts(route_id: str) -> list[str]:
    return [s.text for s in parse_route_id(route_id).segments]


@pytest.mark.parametrize(("route_id", "expected"), [
    ("index", []),
    ("", []),
    ("posts/index", ["posts"]),
    ("users/[id]/index", ["users", "[id]"]),
    ("users/$id/index", ["users", "$id"]),
    ("index/index", ["index"]),  # a folder named index is static text
    ("index/about", ["index", "about"]),
    ("a/index/b", ["a", "index", "b"]),
    ("docs/$$", ["docs", "$$"]),
])
def test_route_id_segments(route_id: str, expected: list[str]) -> None:
    assert texts(route_id) == expected


def test_folder_named_index_matches_the_text_index() -> None:
    table = build_table(["index/about", "index", "index/index"])
    assert table.match("/index/about").route == "index/about"  # type: ignore[union-attr]
    assert table.match("/index").route == "index/index"  # type: ignore[union-attr]
    assert table.match("/").route == "index"  # type: ignore[union-attr]


def test_index_in_a_dynamic_folder_serves_the_folder() -> None:
    table = build_table(["users/[id]/index"])
    m = table.match("/users/7")
    assert m is not None and (m.route, m.params) == ("users/[id]/index", {"id": "7"})
    assert table.match("/users/7/index") is None


@pytest.mark.parametrize("route_id", [
    "users/[id]", "users/$id/posts/[postId]", "docs/[...path]", "docs/$$", "[[...all]]",
    "users/[id]/[[section]]/[[subsection]]", "a/[[x]]/[[...rest]]", "shop/[[...slug]]", "$a/$b/$$",
])
def test_valid_route_ids_have_no_problems(route_id: str) -> None:
    assert parse_route_id(route_id).problems == ()


STRUCTURE = [
    ("blog/[...id]/abc", "catchall-not-last",
     r"catch-all `\[\.\.\.id\]` must be the last segment, but `abc` follows it"),
    ("docs/$$/x", "catchall-not-last", r"catch-all `\$\$` must be the last segment, but `x` follows it"),
    ("a/[[...x]]/[[y]]", "catchall-not-last", r"catch-all `\[\[\.\.\.x\]\]` must be the last segment"),
    ("users/[[id]]/posts", "required-after-optional",
     r"static segment `posts` follows the optional `\[\[id\]\]`; only optional segments may follow"),
    ("users/[[id]]/[x]", "required-after-optional", r"dynamic segment `\[x\]` follows the optional"),
    ("users/[[id]]/$x", "required-after-optional", r"dynamic segment `\$x` follows the optional"),
    ("users/[[id]]/[...x]", "required-after-optional", r"catch-all segment `\[\.\.\.x\]` follows"),
    ("[a]/b/[a]", "duplicate-param", r"parameter name `a` is used twice"),
    ("$a/[a]", "duplicate-param", r"parameter name `a` is used twice"),
    ("[proxy]/$$", "duplicate-param", r"parameter name `proxy` is used twice"),
    ("[[a]]/[[...a]]", "duplicate-param", r"parameter name `a` is used twice"),
    ("__routes", "reserved-path", r"`/__routes` is reserved for devserver"),
    ("__routes/index", "reserved-path", r"`/__routes` is reserved for devserver"),
    ("__routes.json", "reserved-path", r"`/__routes\.json` is reserved for devserver"),
    ("__devserver/ws", "reserved-path", r"`/__devserver` is reserved for devserver"),
]


@pytest.mark.parametrize(("route_id", "rule", "message"), STRUCTURE, ids=[s[0] for s in STRUCTURE])
def test_structure_rules(route_id: str, rule: str, message: str) -> None:
    file = f"app/api/{route_id}.py"
    parsed = parse_route_id(route_id, file=file)
    [problem] = parsed.problems
    assert (problem.severity, problem.rule) == ("error", rule)
    assert re.fullmatch(re.escape(file) + ": " + message + ".*", problem.message), problem.message
    assert problem.routes == (route_id,)
    assert problem.files == (file,)


def test_every_broken_rule_is_reported_once() -> None:
    parsed = parse_route_id("[...x]/[[y]]/[x]/[x]")
    assert sorted(p.rule for p in parsed.problems) == [
        "catchall-not-last", "duplicate-param", "required-after-optional"]


def test_reserved_prefix_only_at_the_start() -> None:
    assert parse_route_id("docs/__routes").problems == ()
    assert parse_route_id("[x]/__devserver").problems == ()


def test_without_a_file_the_message_names_the_route_id() -> None:
    [problem] = parse_route_id("users/[[id]").problems
    assert problem.message.startswith("users/[[id]: malformed bracket")
    assert problem.files == ()
