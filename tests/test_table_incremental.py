"""``build_table(files, previous=old)`` equals a build from scratch, over random add/remove runs.

The incremental build reuses the previous table's parsed routes, conflict results and trie; this
compares everything a table shows (routes and their order, ranks, problems, ``get``, matches
and explanations) with a full build after every step, and checks the previous table is unchanged.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from devserver.routing import RouteFile, RouteTable, build_table

SEGMENTS = ["a", "b", "users", "[id]", "[x]", "$id", "[[o]]", "[[p]]", "[...r]", "[[...r]]", "$$",
            "index", "[a", "book-[id]", "me"]
PROBE_SEGMENTS = ["a", "b", "users", "me", "42", "index", "%61", "x%2Fy"]
PROBES = ["/", "//", "/a//b", "/users/42/", "/a?q=1", "/%zz"] + [
    "/" + "/".join(p) for n in range(4) for p in itertools.product(PROBE_SEGMENTS[: 8 - 2 * n], repeat=n)]
ROOT_SEGMENTS = ["a", "b", "users", "[id]", "[[o]]", "[...r]", "__routes"]


def route_file(parts: tuple[str, ...], kind: str, named: bool) -> RouteFile:
    route_id = "/".join(parts) or "index"
    folder = "api" if kind == "api" else "pages"
    file = f"app/{folder}/{route_id}.{'py' if kind == 'api' else 'html'}" if named else None
    return RouteFile(route_id, "api" if kind == "api" else "page", file)


files_st = st.builds(
    route_file,
    st.tuples(st.sampled_from(ROOT_SEGMENTS)).flatmap(
        lambda first: st.lists(st.sampled_from(SEGMENTS), max_size=2).map(lambda rest: (*first, *rest))),
    st.sampled_from(["api", "page"]),
    st.booleans(),
)


def snapshot(table: RouteTable) -> dict[str, Any]:
    """Everything a table shows, as plain data."""
    matches = []
    for path in PROBES:
        try:
            m = table.match(path)
        except ValueError as exc:
            matches.append(("invalid", str(exc)))
            continue
        matches.append(None if m is None else (m.route, m.params, m.spec))
    return {
        "routes": list(table.routes),
        "ranks": [table.rank(r) for r in table.routes],
        "problems": list(table.problems),
        "dict": table.as_dict(),
        "get": {r.id: table.get(r.id) for r in table.routes},
        "matches": matches,
        "explain": [table.explain(p, methods={r.id: frozenset({"GET"}) for r in table.routes}).as_dict()
                    for p in PROBES[::7]],
    }


def check_steps(pool: list[RouteFile], steps: list[tuple[bool, int]], seed: int) -> None:
    rng = random.Random(seed)
    current = list(dict.fromkeys(pool[: len(pool) // 2]))
    table = build_table(current)
    for add, pick in steps:
        before = snapshot(table)
        if add or not current:
            f = pool[pick % len(pool)]
            # Sometimes an equal but distinct object, or the same object twice.
            f = RouteFile(f.id, f.kind, f.file) if rng.random() < 0.2 else f
            current.insert(rng.randrange(len(current) + 1), f)
        else:
            del current[pick % len(current)]
        new = build_table(current, previous=table)
        assert snapshot(table) == before, "the previous table changed"
        assert snapshot(new) == snapshot(build_table(current)), [f.id for f in current]
        table = new


@settings(max_examples=300, deadline=None)
@given(pool=st.lists(files_st, min_size=1, max_size=16),
       steps=st.lists(st.tuples(st.booleans(), st.integers(0, 1000)), min_size=1, max_size=12),
       seed=st.integers(0, 1000))
def test_incremental_build_equals_full_build(pool: list[RouteFile], steps: list[tuple[bool, int]],
                                             seed: int) -> None:
    check_steps(pool, steps, seed)


def test_adding_one_file_to_a_large_table_is_incremental() -> None:
    files = [RouteFile(f"g{i // 50:03}/item-{i}", "api", f"app/api/g{i // 50:03}/item-{i}.py")
             for i in range(2000)]
    old = build_table(files)
    added = RouteFile("g007/[id]", "api", "app/api/g007/[id].py")
    new = build_table([*files, added], previous=old)
    assert snapshot(new) == snapshot(build_table([*files, added]))
    # Untouched routes are the very same objects, and so is the trie under other folders.
    assert new.get("g001/item-50") is old.get("g001/item-50")
    assert new._matcher._root.static["g001"] is old._matcher._root.static["g001"]
    assert new.match("/g007/abc") is not None and old.match("/g007/abc") is None
    back = build_table(files, previous=new)
    assert snapshot(back) == snapshot(old)


def test_ids_given_as_strings_still_build_correctly() -> None:
    old = build_table(["users/[id]", "users/me"])
    new = build_table(["users/[id]", "users/me", "users/[[...all]]"], previous=old)
    assert snapshot(new) == snapshot(build_table(["users/[id]", "users/me", "users/[[...all]]"]))
