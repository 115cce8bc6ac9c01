"""``devserver init NAME``: a starter app that runs, and never clobbers a user's files."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from .conftest import start_server


def init(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devserver", "init", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=60)


def test_init_creates_an_app_that_serves_pages_and_json(tmp_path: Path) -> None:
    done = init("notes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    root = tmp_path / "notes"
    for rel in ("app/api/index.py", "app/pages/index.html", "app/pages/_layout.html",
                "app/api/notes/[id].py", "app/pages/notes/[id].html", "public/styles.css",
                ".gitignore", "README.md"):
        assert (root / rel).is_file(), rel
    assert ".devserver/" in (root / ".gitignore").read_text()
    assert "devserver run" in done.stdout
    server = start_server(root, "--no-reload")
    try:
        with urllib.request.urlopen(server.url + "/") as response:
            html = response.read().decode()
        assert "<h1>notes</h1>" in html and 'href="/_public/styles.css"' in html
        req = urllib.request.Request(server.url + "/notes/1", headers={"Accept": "application/json"})
        with urllib.request.urlopen(req) as response:
            assert json.loads(response.read())["note"]["id"] == "1"
        form = urllib.request.Request(server.url + "/", data=b"text=hello", method="POST")
        with urllib.request.urlopen(form) as response:  # follows the 303 to the new note
            assert response.url.endswith("/notes/2") and "hello" in response.read().decode()
    finally:
        server.stop()


def test_init_refuses_to_overwrite_and_names_the_files(tmp_path: Path) -> None:
    root = tmp_path / "mine"
    (root / "app/api").mkdir(parents=True)
    (root / "app/api/index.py").write_text("# my work\n")
    done = init("mine", cwd=tmp_path)
    assert done.returncode == 2
    assert "app/api/index.py" in done.stderr and "--force" in done.stderr
    assert (root / "app/api/index.py").read_text() == "# my work\n"
    assert not (root / "app/pages").exists()  # nothing at all was written
    assert init("mine", "--force", cwd=tmp_path).returncode == 0
    assert "my work" not in (root / "app/api/index.py").read_text()
