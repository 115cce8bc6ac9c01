"""``make_req`` (the dispatcher's fast way to build a ``Req``) gives exactly what ``Req(...)`` gives."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from devserver.request import Req, make_req


def test_make_req_equals_req_and_is_frozen() -> None:
    headers = CIMultiDictProxy(CIMultiDict({"Accept": "application/json"}))
    raw: Any = object()  # stands in for the aiohttp request; Req only holds it
    args = ("GET", "/users/7", {"id": "7"}, {"q": "x"}, headers, {}, {"user": "ada"}, raw)
    made, plain = make_req(*args), Req(*args)
    assert type(made) is Req
    assert made == plain and repr(made) == repr(plain)
    assert (made.method, made.path, made.params, made.raw) == ("GET", "/users/7", {"id": "7"}, raw)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.path = "/other"  # type: ignore[misc]
    assert dataclasses.replace(made, path="/other").path == "/other"
    assert made.as_context()["params"] == {"id": "7"}
