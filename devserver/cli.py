"""The command line: ``devserver run``, ``routes`` and ``match`` (DESIGN §7).

It only wires things up: arguments in, a ``Config`` out, and user mistakes reported in one line
(``devserver: error: ...``), never as a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__, eventloop
from .config import DEFAULT_MAX_BODY, Config, is_loopback
from .logs import configure_logging, printable

if TYPE_CHECKING:  # NOTE: imported where used: `devserver run`'s supervisor never loads them
    from aiohttp import web

    from .state import AppState

__all__ = ["main", "UsageError"]

log = logging.getLogger("devserver")


class UsageError(Exception):
    """A mistake in how devserver was called or pointed at a project: one line, exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="devserver", description="Local development server for "
                                     "file-routed Python web apps.")
    parser.add_argument("--version", action="version", version=f"devserver {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="serve ROOT with live reload")
    run.add_argument("root", nargs="?", default=".", metavar="ROOT",
                     help="the project folder holding app/ (default: .)")
    run.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    run.add_argument("--port", type=_port, default=3333, help="port (default: 3333; 0 picks a free one)")
    run.add_argument("--no-reload", action="store_true", help="do not watch files")
    run.add_argument("--open", action="store_true", help="open the browser when ready")
    run.add_argument("--max-body", type=_size, default=DEFAULT_MAX_BODY, metavar="BYTES",
                     help=f"largest request body in bytes (default: {DEFAULT_MAX_BODY})")
    run.add_argument("--editor", default=None, help="editor link scheme for the dashboard (default: vscode)")
    run.add_argument("--cors", action="store_true",
                     help="answer CORS preflights and allow any Origin (for a frontend on another port)")
    run.add_argument("--ready-file", metavar="PATH", default=None,
                     help="write the URL to PATH once the server answers (for test runners)")

    serve = sub.add_parser("serve", help="serve ROOT for production with gunicorn (no reload, no dashboard)")
    serve.add_argument("root", nargs="?", default=".", metavar="ROOT")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port (default: 8000)")
    serve.add_argument("--workers", type=_workers, default=2, help="worker processes (default: 2)")

    init = sub.add_parser("init", help="create a new app in folder NAME")
    init.add_argument("name", metavar="NAME", help="the folder to create (or fill)")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")

    routes = sub.add_parser("routes", help="print the route table and its problems")
    routes.add_argument("root", nargs="?", default=".", metavar="ROOT")
    routes.add_argument("--json", action="store_true", help="print JSON for tools")

    match = sub.add_parser("match", help="explain which route answers a path")
    match.add_argument("args", nargs="+", metavar="[ROOT] PATH")
    match.add_argument("--method", default="GET", help="HTTP method (default: GET)")
    match.add_argument("--json", action="store_true", help="print JSON for tools")
    return parser


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number from 0 to 65535, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be a number from 0 to 65535, got {value}")
    return value


def _size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--max-body takes a number of bytes, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"--max-body must be positive, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    configure_logging()
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "routes":
            return _routes(args)
        if args.command == "init":
            return _init(args)
        if args.command == "serve":
            return _serve_production(args)
        return _match(args)
    except UsageError as exc:
        print(printable(f"devserver: error: {exc}"), file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `devserver routes --json | head`: the reader left; that is not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _project(root_arg: str) -> Path:
    root = Path(root_arg).expanduser()
    if not root.exists():
        raise UsageError(f"ROOT {root_arg!r} does not exist")
    if not root.is_dir():
        raise UsageError(f"ROOT {root_arg!r} is not a folder")
    if not (root / "app").is_dir():
        raise UsageError(f"{root_arg!r} has no app/ folder: put API routes in app/api/ and pages in "
                         "app/pages/ (see the README)")
    return root.resolve()


def _workers(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"--workers takes a number from 1 to 64, got {text!r}")
    return int(text)


def _serve_production(args: argparse.Namespace) -> int:
    """``devserver serve``: gunicorn with aiohttp's worker, ROOT passed in the environment."""
    import shutil

    root = _project(args.root)
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).parent / "gunicorn")
    if not Path(gunicorn).exists():
        raise UsageError("devserver serve needs gunicorn: pip install 'devserver[prod]'")
    host = f"[{args.host}]" if ":" in args.host else args.host
    argv = [gunicorn, "devserver.serve:app", "-k", "aiohttp.GunicornWebWorker", "-w", str(args.workers),
            "-b", f"{host}:{args.port}", "--access-logfile", "-"]
    os.environ["DEVSERVER_ROOT"] = str(root)
    print(f"devserver: serving {root} for production at http://{host}:{args.port}/ "
          f"with {args.workers} workers", flush=True)
    os.execv(gunicorn, argv)
    return 0  # pragma: no cover - execv does not return


def _init(args: argparse.Namespace) -> int:
    from .init import InitError, init_project

    target = Path(args.name).expanduser()
    if target.exists() and not target.is_dir():
        raise UsageError(f"{args.name!r} exists and is not a folder")
    try:
        written = init_project(target, force=args.force)
    except InitError as exc:
        raise UsageError(str(exc)) from None
    for path in written:
        print(f"  created {path}")
    print(f"\nNext: devserver run {args.name}   (then open http://127.0.0.1:3333/)")
    return 0


def _routes(args: argparse.Namespace) -> int:
    from .report import format_table, state_dict
    from .state import build_state

    state = build_state(Config(_project(args.root)))
    if args.json:
        print(printable(json.dumps(state_dict(state), indent=2, ensure_ascii=False)))
    else:
        print(printable(format_table(state)))
    return 1 if any(p.severity == "error" for p in state.table.problems) else 0


def _match(args: argparse.Namespace) -> int:
    if len(args.args) > 2:
        raise UsageError("match takes [ROOT] PATH")
    root_arg, path = (args.args if len(args.args) == 2 else [".", args.args[0]])
    if not path.startswith("/"):
        raise UsageError(f"PATH must start with /, got {path!r}")
    from .report import format_explanation
    from .state import build_state

    state = build_state(Config(_project(root_arg)))
    explanation = state.explain(path, args.method)
    if args.json:
        print(printable(json.dumps(explanation.as_dict(), indent=2, ensure_ascii=False)))
    else:
        print(printable(format_explanation(explanation)))
    return 0 if explanation.status < 400 else 1


def _run(args: argparse.Namespace) -> int:
    root = _project(args.root)
    config = Config(root, dev=True, host=args.host, port=args.port, reload=not args.no_reload,
                    max_body=args.max_body, editor=args.editor or os.environ.get("DEVSERVER_EDITOR")
                    or "vscode", cors=args.cors, ready_file=_ready_file(args.ready_file))
    if not is_loopback(config.host):
        log.warning("warning: binding %s makes devserver reachable from other machines, and its "
                    "dashboard and error pages show file paths and tracebacks; use --host 127.0.0.1 "
                    "to keep it local", config.host)
    sock = bind_socket(config.host, config.port)
    if args.open:
        _open_later(url_for(sock))
    if config.reload:
        from .supervisor import Supervisor

        code = Supervisor(config, sock).run()
    else:
        code = _serve_here(config, sock)
    print("devserver: stopped", file=sys.stderr)
    if config.ready_file:
        Path(config.ready_file).unlink(missing_ok=True)  # a stale URL must not look ready
    return code


def _ready_file(arg: str | None) -> str | None:
    """``--ready-file PATH``: absolute, and any previous one removed, so a poller waits for us."""
    if arg is None:
        return None
    path = Path(arg).expanduser().resolve()
    if not path.parent.is_dir():
        raise UsageError(f"--ready-file {arg!r}: folder {str(path.parent)!r} does not exist")
    path.unlink(missing_ok=True)
    return str(path)


def write_ready_file(path: str, url: str) -> None:
    """Write ``url`` to ``path`` in one step (a reader never sees half a URL)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    Path(tmp).write_text(url + "\n")
    os.replace(tmp, path)


def _serve_here(config: Config, sock: socket.socket) -> int:
    """``--no-reload``: one process, no watcher, no supervisor."""
    from .server import create_app
    from .worker import serve_on

    async def main() -> None:
        app = create_app(config)
        await serve_on(app, sock, on_ready=lambda: announce(app, url_for(sock)))

    with contextlib.suppress(KeyboardInterrupt):
        eventloop.run(main())  # uvloop when installed (devserver[speed])
    return 0


def _open_later(url: str) -> None:
    import threading
    import webbrowser  # NOTE: here: only --open needs it, and it costs every start ~30 ms

    def go() -> None:
        with contextlib.suppress(Exception):
            webbrowser.open(url + "/")

    threading.Timer(1.0, go).start()


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind before anything else, so a port in use is a one-line error, not a traceback."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageError(f"cannot use host {host!r}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(512)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {host} is already in use (another devserver?); "
                             "choose one with --port, or --port 0 for a free one") from None
        if exc.errno == errno.EACCES:
            raise UsageError(f"no permission to bind {host}:{port}; use a port above 1023") from None
        raise UsageError(f"cannot bind {host}:{port}: {exc.strerror}") from None
    sock.setblocking(False)
    return sock


def url_for(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def announce(app: web.Application, url: str) -> None:
    """The lines a person reads first: where it serves, and what is wrong with the routes."""
    from .keys import CONFIG, STATE

    state: AppState = app[STATE].state
    routes = len(state.table.routes)
    print(printable(f"devserver: serving {app_root(app)} at {url}/ ({routes} routes)"), flush=True)
    print(f"devserver: route table and URL tester at {url}/__routes", flush=True)
    for problem in state.table.problems:
        if problem.severity != "note":
            log.warning("%s: %s", problem.severity, problem.message)
    for module in state.modules.values():
        if module.error is not None:
            log.warning("broken module: %s", module.error.message)
    for warning in state.warnings:
        log.warning("%s", warning)
    ready_file = app[CONFIG].ready_file
    if ready_file:
        write_ready_file(ready_file, url)


def app_root(app: web.Application) -> Path:
    from .keys import CONFIG

    return app[CONFIG].root
