"""Smoke tests for benchmarks/http_bench.py and benchmarks/scale_bench.py in --quick mode.

No timing is asserted: this machine's numbers belong in BENCHMARKS.md, not in a test.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def test_http_bench_quick_run_measures_every_server_and_request(tmp_path: Path) -> None:
    out = tmp_path / "http.json"
    done = subprocess.run([sys.executable, str(BENCHMARKS / "http_bench.py"), "--quick", "--silent",
                           "--json", str(out)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ("| request | server | req/s | vs aiohttp | p50 ms | p99 ms | CPU µs/req | vs aiohttp "
            "| µs/req over aiohttp |") in done.stdout
    result = json.loads(out.read_text())
    rows = result["rows"]
    seen = {(row["request"], row["server"]) for row in rows}
    servers = ["aiohttp", "devserver", "devserver-noreload", "starlette", "flask"]
    if importlib.util.find_spec("uvloop") is not None:
        servers += ["devserver-uvloop", "aiohttp-uvloop"]
    for server in servers:
        for request in ("api", "page", "404", "static"):
            assert (request, server) in seen
    # Every answer under load had the status its request must get, on every connection.
    assert all(row["wrong"] == 0 and row["errors"] == 0 for row in rows), rows
    assert all(row["requests"] > 0 and row["rps"] > 0 and row["cpu_us"] >= 0 for row in rows)
    assert all(row["rps_ratio"] is not None for row in rows)  # each is compared with bare aiohttp
    assert any(line.startswith(("- met: api, devserver:", "- MISSED: api, devserver:"))
               for line in done.stdout.splitlines())
    assert "nproc" in result["machine"] and result["machine"]["packages"]["aiohttp"]


def test_scale_bench_quick_run_produces_its_three_tables(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    done = subprocess.run([sys.executable, str(BENCHMARKS / "scale_bench.py"), "--quick", "--silent",
                           "--json", str(out)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    for head in ("| server | routes | runs | median ms |", "| change | routes | changes |",
                 "| process | routes | RSS MB | PSS MB |"):
        assert head in done.stdout
    result = json.loads(out.read_text())
    assert {r["server"] for r in result["cold"]} == {"devserver run", "devserver run --no-reload"}
    assert {r["change"] for r in result["rebuild"]} == {"one file added", "one file removed"}
    assert {r["process"] for r in result["memory"]} >= {"supervisor", "worker"}
