"""Sessions in the encrypted ``_idx`` cookie, through aiohttp-session's storage (DESIGN §3).

The key comes from ``DEVSERVER_SECRET`` (any non-empty string), else from
``ROOT/.devserver/secret``, created on first use with mode 0600. If that file cannot be written
(a read-only tree, a full disk) the server still starts, with a key that lasts until it stops,
and says so: sessions are a convenience, not a reason to refuse to serve.

NOTE: only aiohttp-session's cookie storage is used, not its middleware: the middleware keeps its
state under plain string request keys, which aiohttp 3.14 answers with a ``NotAppKeyWarning``
(an error under ``filterwarnings=error``, in a user's tests of their own app). Ours keeps the
session under one typed key and also makes the expiry rolling, which aiohttp-session's is not.
PERF: and it is not a middleware at all: only the route dispatcher loads a session, so it saves
it too (:func:`save_session`), and no other request pays for a middleware layer.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import time
from pathlib import Path
from typing import Any

from aiohttp import hdrs, web
from aiohttp_session import Session, SessionData
from aiohttp_session.cookie_storage import EncryptedCookieStorage

__all__ = ["COOKIE_NAME", "MAX_AGE", "SESSION", "install_sessions", "resolve_secret", "load_session",
           "session_dict", "replace_session", "save_session", "SessionStorage"]

COOKIE_NAME = "_idx"
MAX_AGE = 7 * 24 * 3600  # 7 days, renewed on every response to a request that carried a session
COOKIE_LIMIT = 4096  # browsers drop larger cookies without a word

log = logging.getLogger("devserver")


class SessionStorage(EncryptedCookieStorage):
    """aiohttp-session's encrypted cookie, with an expiry that rolls (DESIGN §3).

    aiohttp-session drops a session ``max_age`` after it was *created*, however often it is used.
    Stamping every cookie it writes with the time it was written makes the 7 days count from
    the last response instead; Fernet's own ``ttl`` check agrees, as it dates the token the same.
    """

    def _get_session_data(self, session: Session) -> SessionData:
        data = super()._get_session_data(session)
        if data:
            data["created"] = int(time.time())
        return data


# NOTE: this key belongs with the others in keys.py; it lives here until that file is free.
SESSIONS = web.AppKey("devserver_sessions", SessionStorage)
# web.RequestKey is new in aiohttp 3.14; older versions take a string key without a warning.
# The request's session once loaded; None (set by the dispatcher) or absent: not loaded.
SESSION: Any = web.RequestKey("devserver_session", Session) if hasattr(web, "RequestKey") \
    else "devserver_session"
_SESSION = SESSION


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
    app[SESSIONS] = SessionStorage(
        key,
        cookie_name=COOKIE_NAME,
        max_age=MAX_AGE,
        httponly=True,
        samesite="Lax",
        path="/",
        secure=secure or None,
    )


async def load_session(request: web.Request) -> Session:
    """The session; a tampered or undecryptable cookie is an empty session, never an error."""
    session: Session | None = request.get(_SESSION)
    if session is None:
        storage = request.app[SESSIONS]
        try:
            session = await storage.load_session(request)
        except Exception as exc:  # noqa: BLE001 - a cookie is client input: never a 500
            log.warning("devserver: ignoring an unreadable %s cookie (%s)", COOKIE_NAME,
                        type(exc).__name__)
            session = await storage.new_session()
        request[_SESSION] = session
    return session


async def session_dict(request: web.Request) -> dict[str, Any]:
    """A copy of the session's data, for ``req.session``.

    PERF: a request without the session cookie has an empty session, so nothing is loaded (and
    nothing is saved with the response); :func:`load_session` still gives a handler's returned
    ``session`` somewhere to go. Such a request is marked with ``None``, so that
    :func:`save_session` finds that there is nothing to save without a failed lookup.
    """
    session = request.get(_SESSION)
    if session is None:
        if hdrs.COOKIE not in request.headers or COOKIE_NAME not in request.cookies:
            request[_SESSION] = None
            return {}
        session = await load_session(request)
    return dict(session)


def replace_session(session: Session, new: dict[str, object]) -> None:
    """A returned ``session`` replaces the old one; ``{}`` clears it."""
    session.clear()
    session.update(new)


async def save_session(request: web.Request, response: web.StreamResponse) -> None:
    """Write the session of a request that read it into the response: every time, so it rolls."""
    session: Session | None = request.get(_SESSION)
    if session is None or response.prepared:
        return  # never read; or a streamed response whose headers are already sent
    storage = request.app[SESSIONS]
    if session.empty:
        # A cookie came in, yet the session is empty: the handler cleared it, or it could not be
        # read (tampered, another key, expired). Either way, delete it rather than carry it on.
        if COOKIE_NAME in request.cookies:
            await storage.save_session(request, response, session)
        return
    await storage.save_session(request, response, session)
    morsel = response.cookies.get(COOKIE_NAME)
    if morsel is not None and len(morsel.OutputString()) > COOKIE_LIMIT:
        log.warning("devserver: the session cookie is %d bytes; browsers drop cookies over %d, so "
                    "this session will be lost. Keep ids in the session, not data.",
                    len(morsel.OutputString()), COOKIE_LIMIT)

