"""build_state with ``previous`` updates only the ids that changed; the result must be what the
route-by-route build gives (the same module objects where a module is reused) and what a build
from scratch gives (modules, methods, broken modules, table).

Random runs of adds, removes and edits (``fresh``) on a small real app: API modules alone, pages
alone, both, a module that fails to import, routes whose API and page have different ids
(``users/$id.py`` with ``users/[id].html``) and routes that conflict.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from devserver.config import Config
from devserver.discovery import files_after
from devserver.loader import RouteModule
from devserver.state import AppState, _modules, build_state

GET = "async def get(req):\n    return {'json': {'v': %d}}\n"
GET_POST = GET + "async def post(req):\n    return {'json': {}}\n"
ANY = "def handler(req):\n    return {'json': {}}\n"
BROKEN = "raise RuntimeError('broken on purpose %d')\n"
SYNTAX = "def get(req)\n    return 1\n"

# Candidate route files; a run adds and removes them at random.
API = ["index", "about", "a/b", "a/[x]", "a/[y]", "users/$id", "users/[id]", "docs/[...path]",
       "shop/[[cat]]", "only-api", "g/item-1", "g/item-2", "g/d1/[id]"]
PAGES = ["index", "about", "users/[id]", "users/$id", "only-page", "a/[x]", "docs/[...path]",
         "g/item-2", "lone/[slug]"]
BODIES = [GET, GET_POST, ANY, BROKEN, SYNTAX]


def _write(root: Path, rel: str, rng: random.Random, step: int) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if rel.endswith(".py"):
        body = rng.choice(BODIES)
        path.write_text(body % step if "%d" in body else body)
    else:
        path.write_text(f"<h1>{rel} {step}</h1>\n")


def _candidates() -> list[str]:
    return [f"app/api/{r}.py" for r in API] + [f"app/pages/{r}.html" for r in PAGES]


def _same_module(a: RouteModule, b: RouteModule) -> bool:
    """Two loads of one file: the same file, methods and error (different objects)."""
    if a.file != b.file or a.methods != b.methods:
        return False
    if a.error is None or b.error is None:
        return a.error is None and b.error is None
    return a.error.message == b.error.message


def _check(config: Config, previous: AppState, new: AppState, fresh: frozenset[str]) -> None:
    scratch = build_state(config)
    assert [(r.id, r.api_file, r.page_file, r.problems) for r in new.table.routes] == \
        [(r.id, r.api_file, r.page_file, r.problems) for r in scratch.table.routes]
    assert new.table.problems == scratch.table.problems
    assert new.modules.keys() == scratch.modules.keys()
    for rid, module in new.modules.items():
        assert _same_module(module, scratch.modules[rid]), rid
    assert new.methods == scratch.methods
    assert new.broken == frozenset(m.file for m in scratch.modules.values() if m.error is not None)
    # The route-by-route build from the same ``previous`` reuses the very same objects.
    loop_modules, loop_methods = _modules(config, previous, new.table, fresh)
    assert loop_methods == new.methods
    for rid, module in new.modules.items():
        old = previous.modules.get(rid)
        if old is not None and old.file == module.file and module.file not in fresh:
            assert module is old is loop_modules[rid], rid
        else:
            assert module is not old, rid
    # module_id finds every module's id by its file, and nothing for other files.
    for rid, module in new.modules.items():
        assert new.module_id(module.file) == rid
    assert new.module_id("app/api/nope.py") is None
    assert new.module_id("app/pages/index.html") is None


@pytest.mark.parametrize("seed", range(12))
def test_incremental_state_equals_full_build(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    root = tmp_path / "app-root"
    for rel in rng.sample(_candidates(), 10):
        _write(root, rel, rng, 0)
    (root / "app/api").mkdir(parents=True, exist_ok=True)
    (root / "app/pages").mkdir(parents=True, exist_ok=True)
    config = Config(root.resolve())
    state = build_state(config)
    assert state.broken == frozenset(m.file for m in state.modules.values() if m.error is not None)
    incremental = 0
    for step in range(1, 30):
        present = [rel for rel in _candidates() if (root / rel).exists()]
        absent = [rel for rel in _candidates() if rel not in present]
        touched: list[tuple[str, bool]] = []
        fresh: set[str] = set()
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            op = rng.choice(("add", "remove", "edit", "edit"))
            if op == "add" and absent:
                rel = absent.pop(rng.randrange(len(absent)))
                _write(root, rel, rng, step)
                touched.append((rel, False))
                fresh.add(rel)
            elif op == "remove" and present:
                rel = present.pop(rng.randrange(len(present)))
                (root / rel).unlink()
                touched.append((rel, False))
                fresh.add(rel)
            elif present:
                rel = rng.choice(present)
                _write(root, rel, rng, step)
                fresh.add(rel)
        if rng.random() < 0.2:
            fresh.add("app/lib/helper.py")  # a stale file that is no route's module
        frozen = frozenset(f for f in fresh if f.endswith(".py"))
        if touched and rng.random() < 0.5:
            files = files_after(root, state.files, touched)
            new = build_state(config, state, frozen, rescan=True, files=files)
        else:
            new = build_state(config, state, frozen, rescan=bool(touched))
        incremental += new.table.changes_since(state.table) is not None
        _check(config, state, new, frozen)
        state = new
    assert incremental > 20  # the runs do take the incremental path


def test_changes_since(tmp_path: Path) -> None:
    from devserver.routing import RouteFile, build_table

    old = build_table([RouteFile("a"), RouteFile("b/[x]")])
    new = build_table([RouteFile("a"), RouteFile("b/[x]"), RouteFile("c")], previous=old)
    removed, added = new.changes_since(old) or ((), ())
    assert [r.id for r in added] == ["c"] and removed == ()
    assert new.changes_since(new) == ((), ())
    assert old.changes_since(new) is None
    assert build_table([RouteFile("a")]).changes_since(old) is None
    kept = {id(r) for r in old.routes}
    assert all(id(r) in kept for r in new.routes if r not in added)


def test_modules_for_files_index(tmp_path: Path) -> None:
    """The reloader's index of sys.modules by real path answers what a walk of every module
    does, as modules come, go and are replaced, and as a symlinked folder is pointed elsewhere."""
    import os
    import sys
    import types

    from devserver.keys import CONFIG
    from devserver.reloader import Plan, Reloader

    root = (tmp_path / "proj").resolve()
    for folder in ("lib", "other"):
        (root / folder).mkdir(parents=True)
        for name in ("a.py", "b.py"):
            (root / folder / name).write_text("")
    os.symlink(root / "lib", root / "link")
    reloader = Reloader({CONFIG: Config(root)}, None, None)  # type: ignore[arg-type]
    added: list[str] = []

    def put(name: str, file: Path) -> None:
        module = types.ModuleType(name)
        module.__file__ = str(file)
        sys.modules[name] = module
        added.append(name)

    def check(*files: Path) -> None:
        wanted = {os.path.realpath(f) for f in files}
        walk = {n for n, m in list(sys.modules.items())
                if isinstance(getattr(m, "__file__", None), str) and os.path.realpath(m.__file__) in wanted}
        assert reloader._modules_for_files({str(f) for f in files}) == walk

    try:
        put("_t_link_a", root / "link/a.py")
        put("_t_b", root / "lib/b.py")
        check(root / "lib/a.py")
        check(root / "lib/a.py", root / "lib/b.py")
        put("_t_b", root / "lib/a.py")  # replaced by another module object
        check(root / "lib/a.py")
        check(root / "lib/b.py")
        del sys.modules["_t_b"]
        check(root / "lib/a.py")
        (root / "link").unlink()
        os.symlink(root / "other", root / "link")  # a symlink to a folder moves: file events
        reloader._forget_realpaths(Plan(moved={str(root / "link")}))
        check(root / "lib/a.py")
        check(root / "other/a.py")
        assert reloader._modules_for_files({str(root / "other/a.py")}) == {"_t_link_a"}
        put("_t_c", root / "lib/b.py")
        reloader._forget_realpaths(Plan(moved={str(root / "lib")}, folders_moved=True))
        check(root / "lib/b.py", root / "other/a.py")
    finally:
        for name in added:
            sys.modules.pop(name, None)
