"""devserver as a fixture server for tests: the ``devserver_*`` pytest fixtures (DESIGN §8).

Registered through the ``pytest11`` entry point, so installing devserver is enough:

- ``devserver_root`` (session): the project folder. Override the fixture, or set
  ``devserver_root = path/to/app`` in the ini file, or pass ``--devserver-root``.
- ``devserver_options`` (session): ``{"cors": bool, "max_body": int}``; the ini key
  ``devserver_cors = true`` sets the default.
- ``devserver_app``: the aiohttp application (dev mode, no reload) for pytest-aiohttp's
  ``aiohttp_client``; ``devserver_client``: a client already bound to it.
- ``devserver_live``: a real server on 127.0.0.1 (a free port) in a background thread, started
  once per session (per root and options) and reset before each test: ``.url``, ``.journal``,
  ``.assert_requested()``, ``.reset()``, and the controls ``.delay()``, ``.fail()``, ``.drop()``.

Each pytest-xdist worker is its own process, so it gets its own servers on its own ports.
"""

from __future__ import annotations

import asyncio
import difflib
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from aiohttp import web

    from .controls import Control, Controls
    from .journal import Entry, Journal

__all__ = ["LiveServer", "Options"]

_MISSING: Any = object()
START_TIMEOUT = 60.0  # seconds; importing a large app on a loaded CI machine can be slow
STOP_TIMEOUT = 10.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("devserver", "devserver fixture server")
    group.addoption("--devserver-root", metavar="PATH", default=None,
                    help="the project folder (holding app/) that the devserver_* fixtures serve")
    parser.addini("devserver_root", "the project folder (holding app/) that the devserver_* "
                  "fixtures serve, relative to the ini file", default="")
    parser.addini("devserver_cors", "devserver_* fixtures answer CORS for any Origin", type="bool",
                  default=False)


@dataclass(frozen=True, slots=True)
class Options:
    """How the fixtures build the app; return a dict of these from ``devserver_options``."""

    cors: bool = False
    max_body: int | None = None

    @classmethod
    def of(cls, value: Options | Mapping[str, Any]) -> Options:
        if isinstance(value, Options):
            return value
        known = [f.name for f in fields(cls)]
        for key in value:
            if key not in known:
                near = difflib.get_close_matches(key, known, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                pytest.fail(f"devserver_options: unknown option {key!r}{hint} (options: "
                            f"{', '.join(known)})", pytrace=False)
        return cls(**value)


# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def devserver_root(pytestconfig: pytest.Config) -> Path:
    """The project folder to serve: ``--devserver-root``, else the ini's ``devserver_root``."""
    option = pytestconfig.getoption("devserver_root")
    if option:
        return _project(Path(option).expanduser().resolve(), "--devserver-root")
    ini = pytestconfig.getini("devserver_root")
    if ini:
        base = pytestconfig.inipath.parent if pytestconfig.inipath else pytestconfig.rootpath
        return _project((base / str(ini)).resolve(), "the ini option devserver_root")
    if (pytestconfig.rootpath / "app").is_dir():
        return pytestconfig.rootpath
    pytest.fail("devserver_root: which project should devserver serve? Set `devserver_root = "
                "path/to/project` in the ini file, pass --devserver-root PATH, or override the "
                "devserver_root fixture in a conftest.py (the folder holding app/)", pytrace=False)


@pytest.fixture(scope="session")
def devserver_options(pytestconfig: pytest.Config) -> Options | Mapping[str, Any]:
    """Override to change how the app is built, e.g. ``return {"cors": True}``."""
    return Options(cors=bool(pytestconfig.getini("devserver_cors")))


@pytest.fixture
def devserver_app(devserver_root: Path | str,
                  devserver_options: Options | Mapping[str, Any]) -> web.Application:
    """A fresh dev-mode app (no reload) for ``aiohttp_client(devserver_app)``."""
    return _create_app(_root(devserver_root), Options.of(devserver_options))


def _client_fixture() -> Any:
    """``devserver_client`` on pytest-aiohttp, or a fixture that says how to install it."""
    try:
        import pytest_asyncio
    except ImportError:  # pragma: no cover - pytest-aiohttp is an optional test dependency
        @pytest.fixture(name="devserver_client")
        def missing() -> Any:
            pytest.fail("devserver_client needs pytest-aiohttp: pip install pytest-aiohttp (or use "
                        "devserver_live with any HTTP client)", pytrace=False)

        return missing

    @pytest_asyncio.fixture(name="devserver_client")
    async def client(aiohttp_client: Any, devserver_app: web.Application) -> Any:
        """An aiohttp ``TestClient`` for ``devserver_app`` (pytest-aiohttp)."""
        return await aiohttp_client(devserver_app)

    return client


devserver_client = _client_fixture()


@pytest.fixture(scope="session")
def _devserver_servers() -> Iterator[_Servers]:
    """The live servers of this session (one per root and options), stopped at its end."""
    servers = _Servers()
    yield servers
    servers.stop_all()


@pytest.fixture
def devserver_live(devserver_root: Path | str, devserver_options: Options | Mapping[str, Any],
                   _devserver_servers: _Servers) -> LiveServer:
    """A real server on 127.0.0.1, shared by the session and reset before this test."""
    live = _devserver_servers.get(_root(devserver_root), Options.of(devserver_options))
    live.reset()
    return live


# --- the live server ------------------------------------------------------------------------------

class LiveServer:
    """A devserver running in a background thread; every method is safe to call from a test."""

    def __init__(self, url: str, app: web.Application) -> None:
        self.url = url  #: ``http://127.0.0.1:PORT``, no trailing slash
        self.app = app

    def __repr__(self) -> str:
        return f"<LiveServer {self.url}>"

    def url_for(self, path: str = "/") -> str:
        """``live.url_for("/users/1")`` -> ``http://127.0.0.1:PORT/users/1``."""
        return self.url + (path if path.startswith("/") else "/" + path)

    @property
    def journal(self) -> Journal:
        """Every request since the last reset (``list(live.journal)``, ``live.journal.find(...)``)."""
        from .keys import JOURNAL

        return self.app[JOURNAL]

    @property
    def requests(self) -> list[Entry]:
        return self.journal.entries

    @property
    def controls(self) -> Controls:
        from .keys import CONTROLS

        return self.app[CONTROLS]

    def assert_requested(self, method: str, path: str, *, times: int | None = None,
                         json: Any = _MISSING, form: Any = _MISSING, timeout: float = 0.0) -> list[Entry]:
        """Assert ``method path`` was requested (``times`` times; with this ``json``/``form`` body).

        ``path`` without ``?`` matches any query. With ``timeout`` (seconds), wait that long
        for the requests to arrive. Returns the matching entries; on failure, the message lists
        the nearest requests, the routes they hit, and where the app would route this one.
        """
        from .journal import RequestNotFound, route_describer

        __tracebackhide__ = True
        describe = route_describer(self.app)
        kwargs = {k: v for k, v in (("json", json), ("form", form)) if v is not _MISSING}
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.journal.assert_requested(method, path, times=times, describe=describe,
                                                     **kwargs)
            except RequestNotFound as exc:
                if time.monotonic() >= deadline:
                    raise RequestNotFound(str(exc)) from None  # the message says it all
            time.sleep(0.02)

    def assert_not_requested(self, method: str, path: str) -> None:
        __tracebackhide__ = True
        self.assert_requested(method, path, times=0)

    def reset(self) -> None:
        """Forget the journal and remove every control (done before each test)."""
        self.journal.clear()
        self.controls.clear()

    def delay(self, target: str, ms: int, *, method: str | None = None,
              times: int | None = None) -> Control:
        """Answer requests for ``target`` (a route such as ``users/[id]``, or a path) ``ms`` later."""
        return self._control(target, method=method, times=times, delay_ms=ms)

    def fail(self, target: str, status: int = 500, *, method: str | None = None,
             times: int | None = None, json: Any = _MISSING, delay_ms: int = 0) -> Control:
        """Answer ``status`` (with ``json`` as the body, if given) instead of running the route."""
        extra = {"json": json} if json is not _MISSING else {}
        return self._control(target, method=method, times=times, delay_ms=delay_ms, status=status,
                             **extra)

    def drop(self, target: str, *, method: str | None = None, times: int | None = None,
             delay_ms: int = 0) -> Control:
        """Close the connection without an answer (the client sees a network error)."""
        return self._control(target, method=method, times=times, delay_ms=delay_ms, drop=True)

    def _control(self, target: str, **kwargs: Any) -> Control:
        from .controls import resolve_target
        from .keys import STATE

        route, path = resolve_target(self.app[STATE].state.table, target)
        return self.controls.add(route=route, path=path, **kwargs)


class _Servers:
    """Live servers by (root, options): each started on first use and kept for the session."""

    def __init__(self) -> None:
        self._running: dict[tuple[Path, Options], _ServerThread] = {}

    def get(self, root: Path, options: Options) -> LiveServer:
        key = (root, options)
        server = self._running.get(key)
        if server is None:
            server = _ServerThread(root, options)
            server.start()  # raises when the app cannot be served; the next test tries again
            self._running[key] = server
        return server.live

    def stop_all(self) -> None:
        for server in self._running.values():
            server.stop()
        self._running.clear()


class _ServerThread:
    """One app served by aiohttp on its own event loop in a daemon thread."""

    def __init__(self, root: Path, options: Options) -> None:
        self.root = root
        self.options = options
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"devserver-live {root.name}", daemon=True)
        self._live: LiveServer | None = None

    @property
    def live(self) -> LiveServer:
        assert self._live is not None
        return self._live

    def start(self) -> None:
        self.thread.start()
        if not self.ready.wait(START_TIMEOUT):
            raise RuntimeError(f"devserver_live: the server for {self.root} did not start within "
                               f"{START_TIMEOUT:.0f} s")
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(STOP_TIMEOUT)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            runner = self.loop.run_until_complete(self._serve())
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread, raised there
            self.error = exc
            self.ready.set()
            self.loop.close()
            return
        self.ready.set()
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(runner.cleanup())
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    async def _serve(self) -> web.AppRunner:
        from aiohttp import web

        app = _create_app(self.root, self.options)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))  # port 0: a free port, so xdist workers never collide
        sock.listen(128)
        sock.setblocking(False)
        # NOTE: open keep-alive connections (a browser's) must not hold up the end of the session.
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        host, port = sock.getsockname()[:2]
        self._live = LiveServer(f"http://{host}:{port}", app)
        return runner


def _create_app(root: Path, options: Options) -> web.Application:
    from .config import Config
    from .server import create_app

    config = Config(root, dev=True, reload=False, host="127.0.0.1", port=0, cors=options.cors)
    return create_app(config, max_body=options.max_body)


def _root(value: str | Path) -> Path:
    """An overriding ``devserver_root`` may return a str or a relative path."""
    return _project(Path(value).expanduser().resolve(), "the devserver_root fixture")


def _project(path: Path, where: str) -> Path:
    if not (path / "app").is_dir():
        pytest.fail(f"{where}: {path} has no app/ folder; point it at the project folder that holds "
                    "app/api and app/pages", pytrace=False)
    return path
