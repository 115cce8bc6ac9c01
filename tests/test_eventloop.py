"""devserver.eventloop: `devserver run` serves on uvloop when it is installed, unless told not to."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from devserver import eventloop


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_devserver_loop_asyncio_keeps_asyncios_own_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(eventloop.LOOP_ENV, "asyncio")
    assert eventloop.run(_loop_module()).startswith("asyncio")


@pytest.mark.skipif(importlib.util.find_spec("uvloop") is None, reason="uvloop is not installed")
def test_uvloop_is_used_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(eventloop.LOOP_ENV, raising=False)
    assert eventloop.run(_loop_module()).startswith("uvloop")


def test_without_uvloop_it_is_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(eventloop.LOOP_ENV, raising=False)
    monkeypatch.setattr(eventloop, "_uvloop", lambda: None)
    assert eventloop.run(_loop_module()).startswith("asyncio")
