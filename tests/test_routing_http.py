"""Every scenario of ``shared/routing-cases.json`` against a real ``devserver run`` on a real socket.

Each scenario gets a fresh temp app whose route modules answer with their own id and
``req.params``, exactly as the product is checked from outside.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from .conftest import SHARED, start_server, write_app

CASES = SHARED / "routing-cases.json"
SCENARIOS: list[dict[str, Any]] = json.loads(CASES.read_text())["scenarios"] if CASES.exists() else []

MODULE = '''
async def handler(req):
    return {{"json": {{"route": {route!r}, "params": req.params}}}}
'''


def fetch(url: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, None


@pytest.mark.skipif(not SCENARIOS, reason=f"{CASES} is not beside the repository")
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["id"] for s in SCENARIOS])
def test_scenario_over_http(scenario: dict[str, Any], tmp_path: Path) -> None:
    files = {f"app/api/{route}.py": MODULE.format(route=route) for route in scenario["routes"]}
    server = start_server(write_app(tmp_path, files), "--no-reload")
    try:
        for case in scenario["requests"]:
            status, body = fetch(server.url + case["path"])
            where = f"{scenario['id']}: GET {case['path']}"
            if scenario.get("expect_error"):
                assert status >= 400, f"{where}: invalid route set answered {status} {body}"
                continue
            if "status" in case:
                assert status == case["status"], where
                continue
            if case["expect"] is None:
                assert status == 404, f"{where}: expected 404, got {status} {body}"
                continue
            assert status == 200, f"{where}: expected {case['expect']}, got {status}"
            assert body["route"] == case["expect"], where
            if "params" in case:
                assert body["params"] == case["params"], where
            for key, value in case.get("params_include", {}).items():
                assert body["params"][key] == value, where
    finally:
        server.stop()


def test_percent_encoding_and_bad_encoding_over_http(tmp_path: Path) -> None:
    files = {f"app/api/{r}.py": MODULE.format(route=r) for r in ("users/[id]", "files/[...path]")}
    server = start_server(write_app(tmp_path, files), "--no-reload")
    try:
        assert fetch(server.url + "/users/a%2Fb")[1]["params"] == {"id": "a/b"}
        assert fetch(server.url + "/users/a+b")[1]["params"] == {"id": "a+b"}
        assert fetch(server.url + "/users/%C3%A9t%C3%A9")[1]["params"] == {"id": "été"}
        assert fetch(server.url + "/files/x%2Fy/z")[1]["params"] == {"path": ["x/y", "z"]}
        assert fetch(server.url + "/users/42/")[1]["route"] == "users/[id]"
        assert fetch(server.url + "/users/%zz")[0] == 400
        assert fetch(server.url + "/users/%FF")[0] == 400
        assert fetch(server.url + "/users//")[0] == 404
        assert fetch(server.url + "/Users/1")[0] == 404
    finally:
        server.stop()
