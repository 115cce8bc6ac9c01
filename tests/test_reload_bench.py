"""Smoke test for benchmarks/reload_bench.py: it runs every server and devserver sees every edit.

No timing is asserted: this machine's numbers belong in BENCHMARKS.md, not in a test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "reload_bench.py"


def test_reload_bench_quick_run_sees_every_in_place_edit(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    done = subprocess.run([sys.executable, str(BENCH), "--quick", "--edits", "3", "--json", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| server | edit | seen |" in done.stdout
    rows = {row["key"]: row for row in json.loads(out.read_text())["rows"]}
    for key in ("devserver-route", "devserver-helper"):
        assert rows[key]["edits"] == 3, rows[key]
        assert rows[key]["detected"] == 3 and rows[key]["failed"] == 0, rows[key]
    # Every other series ran too (whether its reloader saw the edits is what the table reports).
    assert {"devserver-pyproject", "devserver-outside", "uvicorn-route", "flask-route",
            "flask-stat-route"} <= set(rows)
