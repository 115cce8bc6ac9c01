"""``benchmarks/router_bench.py`` runs, and checks every router's answers before it times them.

No timing is asserted here: the numbers belong in BENCHMARKS.md, not in a test.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "router_bench.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("router_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["router_bench"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_quick_run_checks_every_router_and_exits_0() -> None:
    done = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    bench = load_bench()
    assert f"{bench.CHECK_LINE}:" in done.stdout
    for adapter in bench.ADAPTERS:
        assert f"| {adapter.name} |" in done.stdout


def test_a_wrong_answer_stops_the_run() -> None:
    bench = load_bench()
    routes = bench.generate_routes(10)
    requests = bench.generate_requests(routes, 50, 1)

    class Wrong(bench.Adapter):  # type: ignore[misc]
        name = "wrong"

        def resolve(self, router: Any, arg: Any) -> Any:
            return None  # a miss for everything

    with pytest.raises(SystemExit, match="wrong answered"):
        bench.check(Wrong(), None, requests, [r.path for r in requests])


def test_the_mix_is_seeded_and_has_every_kind() -> None:
    bench = load_bench()
    routes = bench.generate_routes(100)
    first = bench.generate_requests(routes, 200, 7)
    assert first == bench.generate_requests(routes, 200, 7)
    assert {r.kind for r in first} == set(bench.KINDS)
    assert all((r.expect is None) == (r.kind == "miss") for r in first)
