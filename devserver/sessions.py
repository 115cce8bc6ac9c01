"""Sessions in the encrypted ``_idx`` cookie, through aiohttp-session (DESIGN §3).

The key comes from ``DEVSERVER_SECRET`` (any non-empty string), else from
``ROOT/.devserver/secret``, created on first use with mode 0600. If that file cannot be written
(a read-only tree, a full disk) the server still starts, with a key that lasts until it stops,
and says so: sessions are a convenience, not a reason to refuse to serve.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from pathlib import Path

from aiohttp import web
from aiohttp_session import SESSION_KEY, Session, get_session
from aiohttp_session import setup as setup_sessions
from aiohttp_session.cookie_storage import EncryptedCookieStorage

__all__ = ["COOKIE_NAME", "MAX_AGE", "install_sessions", "resolve_secret", "load_session",
           "replace_session"]

COOKIE_NAME = "_idx"
MAX_AGE = 7 * 24 * 3600  # 7 days, renewed on every response that carries a session (rolling)

log = logging.getLogger("devserver")


def resolve_secret(state_dir: Path) -> tuple[bytes, str]:
    """The 32-byte cookie key and a sentence saying where it came from."""
    env = os.environ.get("DEVSERVER_SECRET", "")
    if env:
        return _derive(env), "DEVSERVER_SECRET"
    path = state_dir / "secret"
    try:
        return _derive(path.read_text().strip()), str(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("devserver: cannot read the session secret %s (%s); sessions will not "
                    "survive a restart", path, exc.strerror)
        return secrets.token_bytes(32), "a temporary key"
    return _create(path)


def _create(path: Path) -> tuple[bytes, str]:
    value = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        # O_EXCL: two workers starting at once must not both write; the loser reads the winner's.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(value + "\n")
        except OSError:
            path.unlink(missing_ok=True)  # never leave a half-written secret behind
            raise
    except FileExistsError:
        return _derive(path.read_text().strip()), str(path)
    except OSError as exc:
        log.warning("devserver: cannot write the session secret %s (%s); using a temporary key, "
                    "so sessions end when the server stops. Set DEVSERVER_SECRET to avoid this.",
                    path, exc.strerror)
        return secrets.token_bytes(32), "a temporary key"
    return _derive(value), str(path)


def _derive(text: str) -> bytes:
    # NOTE: any non-empty string is a valid secret; hashing gives Fernet the 32 bytes it needs.
    return hashlib.sha256(b"devserver-session:" + text.encode()).digest()


def install_sessions(app: web.Application, key: bytes, *, secure: bool = False) -> None:
    storage = EncryptedCookieStorage(
        key,
        cookie_name=COOKIE_NAME,
        max_age=MAX_AGE,
        httponly=True,
        samesite="Lax",
        path="/",
        secure=secure or None,
    )
    setup_sessions(app, storage)


async def load_session(request: web.Request) -> Session:
    """The session; a tampered or undecryptable cookie is an empty session, never an error."""
    session: Session = await get_session(request)
    return session


def replace_session(session: Session, new: dict[str, object]) -> None:
    """A returned ``session`` replaces the old one; ``{}`` clears it."""
    session.clear()
    session.update(new)


def touch_session(request: web.Request) -> None:
    """Re-send a non-empty session so its 7-day expiry rolls forward."""
    session = request.get(SESSION_KEY)
    if isinstance(session, Session) and not session.empty:
        session.changed()
