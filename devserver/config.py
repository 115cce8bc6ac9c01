"""Configuration: one frozen ``Config`` and where devserver's own assets live."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Config", "asset_dir", "is_loopback", "DEFAULT_MAX_BODY"]

DEFAULT_MAX_BODY = 10 * 1024 * 1024  # DESIGN §3: 10 MiB


@dataclass(frozen=True, slots=True)
class Config:
    """Everything ``create_app`` needs to know; the CLI and the pytest plugin build one."""

    root: Path
    dev: bool = True
    host: str = "127.0.0.1"
    port: int = 3333
    reload: bool = True
    max_body: int = DEFAULT_MAX_BODY
    editor: str = "vscode"
    # Answer CORS preflights and add Access-Control-* headers for any Origin (`--cors`).
    cors: bool = False
    # `devserver run --ready-file PATH`: where to write the URL once it answers.
    ready_file: str | None = None

    @property
    def app_dir(self) -> Path:
        return self.root / "app"

    @property
    def api_dir(self) -> Path:
        return self.root / "app" / "api"

    @property
    def pages_dir(self) -> Path:
        return self.root / "app" / "pages"

    @property
    def public_dir(self) -> Path:
        return self.root / "public"

    @property
    def state_dir(self) -> Path:
        """The only place devserver ever writes inside a user's project."""
        return self.root / ".devserver"


def asset_dir(name: str) -> Path:
    """devserver's own ``static`` or ``templates`` folder, found from the installed package.

    A wheel carries them inside the package (``devserver/_assets/``); a source checkout or an
    editable install has them at the top of the repository. Never the current directory.
    """
    package = Path(__file__).resolve().parent
    for candidate in (package / "_assets" / name, package.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"devserver's own {name}/ folder is missing from {package}; reinstall devserver")


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine can reach."""
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
