"""A dev 404's explanation: the routes that came closest, at a cost that does not grow with the app.

``explain_miss`` must list exactly the routes the full explanation's ``closest()`` would pick,
with the same reasons, and name the same "did you mean" routes; over HTTP a 404 in a big app
lists a bounded number of routes and says how many it left out.
"""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devserver.routing import RouteTable, build_table
from devserver.routing.explain import MISS_CANDIDATES, SUGGESTION_POOL, Explanation, explain_miss
from devserver.routing.paths import split_path

from .conftest import Server
from .test_matcher_properties import paths, route_ids
from .test_precedence import GOLDEN

SETTINGS = settings(max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def miss(table: RouteTable, path: str, limit: int = MISS_CANDIDATES) -> Explanation:
    return explain_miss(table, split_path(path), method="GET", path=path, limit=limit)


def closest(e: Explanation, limit: int) -> list[tuple[int, str, str, str]]:
    """The ``limit`` closest candidates as (rank, route, outcome, reason), in rank order."""
    return sorted((c.rank, c.route, c.outcome, c.reason) for c in e.closest(limit))


def listed(e: Explanation) -> list[tuple[int, str, str, str]]:
    return [(c.rank, c.route, c.outcome, c.reason) for c in e.candidates]


@SETTINGS
@given(st.lists(route_ids(), min_size=1, max_size=12, unique=True), st.lists(paths(), max_size=8),
       st.integers(1, 6))
def test_the_bounded_explanation_lists_what_the_full_one_finds_closest(
        ids: list[str], requests: list[str], limit: int) -> None:
    table = build_table(ids)
    for path in requests:
        try:
            full = table.explain(path)
        except Exception:  # noqa: BLE001 - only paths the table can explain are compared
            continue
        if full.status != 404:
            continue
        bounded = miss(table, full.path, limit)
        assert listed(bounded) == closest(full, limit), (ids, path)
        assert bounded.suggestions == full.suggestions
        assert bounded.omitted == len(table.routes) - len(bounded.candidates)
        assert (bounded.status, bounded.summary) == (404, full.summary)


def test_a_small_app_lists_every_route() -> None:
    table = build_table(GOLDEN[:MISS_CANDIDATES])
    e = miss(table, "/nope/x/y/z/w")
    assert [c.route for c in e.candidates] == [r.id for r in table.routes]
    assert e.omitted == 0


def big_table(groups: int) -> RouteTable:
    ids = []
    for n in range(groups):
        ids += [f"about-{n}", f"users-{n}/me", f"users-{n}/[id]", f"orgs-{n}/[org]/repos/[repo]",
                f"files-{n}/[...path]"]
    random.Random(7).shuffle(ids)
    return build_table(ids)


BIG = big_table(1_000)


def test_a_big_app_lists_the_closest_routes_and_counts_the_rest() -> None:
    e = miss(BIG, "/orgs-7/acme/issues/1")
    full = BIG.explain("/orgs-7/acme/issues/1")
    assert listed(e) == closest(full, MISS_CANDIDATES)
    assert len(e.candidates) == MISS_CANDIDATES
    assert e.omitted == len(BIG.routes) - MISS_CANDIDATES
    [nearest] = e.closest(1)
    assert (nearest.route, nearest.reason) == ("orgs-7/[org]/repos/[repo]", "static `repos` ≠ `issues`")
    assert e.as_dict()["omitted"] == e.omitted


def test_did_you_mean_finds_a_typo_among_thousands_of_static_routes() -> None:
    statics = sum(1 for r in BIG.routes if not r.params)
    assert statics > 4 * SUGGESTION_POOL  # so only a pool of them is compared
    for typo, meant in [("/abuot-12", "/about-12"), ("/bout-345", "/about-345"),
                        ("/usres-77/me", "/users-77/me"), ("/about-5x", "/about-5")]:
        assert meant in miss(BIG, typo).suggestions, typo
        assert miss(BIG, typo).suggestions == BIG.explain(typo).suggestions


def test_the_full_explanation_still_lists_every_route() -> None:
    e = BIG.explain("/nope")
    assert len(e.candidates) == len(BIG.routes) and e.omitted == 0
    assert e.candidates[0].reason.startswith("static `")


def test_a_dev_404_over_http_is_bounded(tmp_path: Path, devserver_run: Callable[..., Server]) -> None:
    api = tmp_path / "app" / "api"
    for n in range(200):
        (api / f"things-{n}").mkdir(parents=True)
        (api / f"things-{n}" / "[id].py").write_text("def get(req):\n    return {'json': {}}\n")
    url = devserver_run(tmp_path, "--no-reload").url
    request = urllib.request.Request(url + "/things-3/1/more", headers={"Accept": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("expected a 404")
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
        body = json.loads(exc.read())
    explanation = body["error"]["explanation"]
    assert len(explanation["candidates"]) == MISS_CANDIDATES
    assert explanation["omitted"] == 200 - MISS_CANDIDATES
    reasons = {c["route"]: c["reason"] for c in explanation["candidates"]}
    assert reasons["things-3/[id]"] == "path has one extra segment: `/more`"
