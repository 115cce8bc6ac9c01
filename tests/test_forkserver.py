"""The fork server's own rules: a library changed on disk is never forked from (DESIGN §5)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from devserver import forkserver


def test_a_module_changed_on_disk_since_it_was_imported_makes_the_fork_server_stale(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "forkserver_probe.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("forkserver_probe")
    try:
        stamps = forkserver._stamps()
        assert str(tmp_path / "forkserver_probe.py") in stamps
        assert not forkserver._stale(stamps)
        (tmp_path / "forkserver_probe.py").write_text("X = 22\n")
        assert forkserver._stale(stamps)
        (tmp_path / "forkserver_probe.py").unlink()
        assert forkserver._stale(stamps)
    finally:
        sys.modules.pop("forkserver_probe", None)


def test_the_fork_server_preloads_no_user_code() -> None:
    assert all(name.startswith(("devserver.", "watchdog.", "uvloop")) for name in forkserver.PRELOAD)
