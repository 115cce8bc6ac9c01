"""Every scenario of ``shared/routing-cases.json``, run in-process against ``build_table``.

The file's own ``format`` note is the contract: ``expect`` is a route id (or null for 404),
``params`` is exact, ``params_include`` a subset, ``status`` replaces route matching,
``expect_error`` marks an invalid route set (each listed path must answer >= 400), and scenarios
sharing a ``disagreement`` group are alternatives of which one must pass. ``test_routing_http.py``
runs the same scenarios over HTTP against a real server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devserver.routing import RouteFile, RouteTable, build_table

CASES = Path(__file__).parents[2] / "shared" / "routing-cases.json"
SCENARIOS: list[dict[str, Any]] = json.loads(CASES.read_text())["scenarios"] if CASES.exists() else []
MISSING = f"{CASES} is missing: the shared routing cases live beside the repository"


def table_for(scenario: dict[str, Any]) -> RouteTable:
    return build_table([RouteFile(r, "api", f"app/api/{r}.py") for r in scenario["routes"]])


def failures(scenario: dict[str, Any]) -> list[str]:
    """What in ``scenario`` the routing engine gets wrong (empty when it passes)."""
    table = table_for(scenario)
    wrong: list[str] = []
    if scenario.get("expect_error"):
        if not any(p.severity == "error" for p in table.problems):
            wrong.append("the route set is invalid, but no error problem was reported")
        for case in scenario["requests"]:
            status = table.explain(case["path"]).status
            if status < 400:
                wrong.append(f"GET {case['path']}: invalid route set answered {status}")
        return wrong
    for case in scenario["requests"]:
        wrong.extend(_check_request(table, case))
    return wrong


def _check_request(table: RouteTable, case: dict[str, Any]) -> list[str]:
    where = f"GET {case['path']}"
    e = table.explain(case["path"])
    if "status" in case:
        return [] if e.status == case["status"] else [f"{where}: status {e.status}, not {case['status']}"]
    if case["expect"] is None:
        return [] if e.status == 404 else [f"{where}: expected 404, got {e.status} ({e.winner})"]
    found = table.match(case["path"])
    got = found.route if found is not None else None
    if e.status != 200 or got != case["expect"] or e.winner != got:
        return [f"{where}: expected {case['expect']}, got {got} "
                f"(explain: {e.status} {e.winner}: {e.summary})"]
    assert found is not None
    wrong = []
    if "params" in case and found.params != case["params"]:
        wrong.append(f"{where}: params {found.params}, not {case['params']}")
    for key, value in case.get("params_include", {}).items():
        if found.params.get(key) != value:
            wrong.append(f"{where}: params[{key!r}] is {found.params.get(key)!r}, not {value!r}")
    if e.params != found.params:
        wrong.append(f"{where}: explain says params {e.params}, match says {found.params}")
    return wrong


@pytest.mark.skipif(not CASES.exists(), reason=MISSING)
def test_the_cases_file_has_scenarios() -> None:
    assert SCENARIOS
    assert len({s["id"] for s in SCENARIOS}) == len(SCENARIOS), "scenario ids must be unique"


@pytest.mark.skipif(not CASES.exists(), reason=MISSING)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["id"] for s in SCENARIOS])
def test_scenario(scenario: dict[str, Any]) -> None:
    group = scenario.get("disagreement")
    if group is None:
        wrong = failures(scenario)
        assert not wrong, f"{scenario['id']}:\n  " + "\n  ".join(wrong)
        return
    alternatives = [s for s in SCENARIOS if s.get("disagreement") == group]
    results = {s["id"]: failures(s) for s in alternatives}
    assert any(not w for w in results.values()), f"no alternative of {group!r} passes: {results}"
