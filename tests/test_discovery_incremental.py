"""discovery.route_file and discover_folder agree with discover, which a reload relies on when it
updates the file list for one added or removed file instead of walking the tree again."""

from __future__ import annotations

from pathlib import Path

import pytest

from devserver.discovery import discover, discover_folder, route_file
from devserver.routing import RouteFile

TREE = [
    "app/api/index.py", "app/api/users/$id.py", "app/api/users/[id]/posts.py",
    "app/api/docs/[...path].py", "app/api/_helpers/db.py", "app/api/.hidden/x.py",
    "app/api/notes.txt", "app/api/old.py~", "app/api/swap.py.swp", "app/api/__routes.py",
    "app/pages/index.html", "app/pages/_layout.html", "app/pages/404.html", "app/pages/500.html",
    "app/pages/errors/404.html", "app/pages/users/$id.html", "app/pages/_partials/nav.html",
    "app/pages/docs/[[...path]].html", "app/pages/readme.md", "app/lib/users.py", "public/app.css",
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for rel in TREE:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    return tmp_path


def test_route_file_lists_exactly_what_discover_lists(root: Path) -> None:
    found = discover(root).files
    assert [route_file(f.file) for f in found if f.file] == list(found)
    by_rule = [f for f in map(route_file, TREE) if f is not None]
    assert sorted(by_rule, key=lambda f: (f.kind, f.id)) == list(found)


def test_route_file_by_example() -> None:
    assert route_file("app/api/users/[id].py") == RouteFile("users/[id]", "api", "app/api/users/[id].py")
    assert route_file("app/pages/users/$id.html") == RouteFile("users/$id", "page",
                                                                "app/pages/users/$id.html")
    for rel in ("app/pages/404.html", "app/api/_db.py", "app/api/.x/y.py", "app/lib/a.py",
                "app/api/a.html", "app/pages/a.py", "app/api//a.py", "public/a.py"):
        assert route_file(rel) is None, rel


def test_discover_folder_finds_what_discover_finds_under_it(root: Path) -> None:
    found = discover(root).files
    for folder in ("app/api", "app/api/users", "app/pages", "app/pages/docs", "app/api/_helpers"):
        under = [f for f in found if f.file and f.file.startswith(folder + "/")]
        got = discover_folder(root, folder).files
        assert sorted(got, key=lambda f: f.file or "") == sorted(under, key=lambda f: f.file or "")


def _apply(root: Path, before: tuple[RouteFile, ...], touched: list[tuple[str, bool]]) -> None:
    from devserver.discovery import files_after

    after = files_after(root, before, touched)
    assert sorted(after or (), key=lambda f: (f.kind, f.id)) == list(discover(root).files)


def test_a_reload_updates_the_list_like_a_walk_for_added_and_removed_files(root: Path) -> None:
    before = discover(root).files
    (root / "app/api/users/new.py").write_text("x")
    (root / "app/api/index.py").unlink()
    (root / "app/api/_private.py").write_text("x")  # not a route: no change
    (root / "app/pages/users/$id.html").unlink()
    _apply(root, before, [("app/api/users/new.py", False), ("app/api/index.py", False),
                          ("app/api/_private.py", False), ("app/pages/users/$id.html", False)])


def test_a_reload_walks_only_a_folder_that_appeared_or_vanished(root: Path) -> None:
    before = discover(root).files
    (root / "app/api/orgs/[org]/repos").mkdir(parents=True)
    (root / "app/api/orgs/[org]/repos/[repo].py").write_text("x")
    (root / "app/api/orgs/[org]/index.py").write_text("x")
    for file in (root / "app/api/users").rglob("*.py"):
        file.unlink()
    for folder in sorted((root / "app/api/users").rglob("*"), reverse=True):
        folder.rmdir()
    (root / "app/api/users").rmdir()
    _apply(root, before, [("app/api/orgs", True), ("app/api/users", True)])


def test_a_symlinked_folder_is_not_walked_and_a_fifo_asks_for_a_walk(root: Path) -> None:
    import os

    before = discover(root).files
    (root / "app/api/linked").symlink_to(root / "app/api/users", target_is_directory=True)
    _apply(root, before, [("app/api/linked", False)])
    from devserver.discovery import files_after

    os.mkfifo(root / "app/api/pipe.py")
    assert files_after(root, before, [("app/api/pipe.py", False)]) is None
    assert files_after(root, before, [("app", True)]) is None
