"""The event loop ``devserver run`` serves on: uvloop when it is installed, else asyncio's own.

``pip install 'devserver[speed]'`` installs uvloop; nothing else changes. ``DEVSERVER_LOOP=asyncio``
keeps asyncio's loop even then (the HTTP benchmark measures both).
"""

from __future__ import annotations

import os
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run", "LOOP_ENV"]

LOOP_ENV = "DEVSERVER_LOOP"
T = TypeVar("T")


def _uvloop() -> Any:
    if os.environ.get(LOOP_ENV, "auto") == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, on uvloop when it is installed and not turned off."""
    uvloop = _uvloop()
    if uvloop is not None:
        result: T = uvloop.run(main)
        return result
    import asyncio  # NOTE: here, not at the top: the supervisor imports this module and no loop

    return asyncio.run(main)

