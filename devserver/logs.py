"""What devserver writes to a terminal: nothing a file name can use to drive it, no noise.

- File, route and parameter names come from the user's tree (a cloned repository may hold
  anything): a name with ``ESC [31m`` or a bidi override must print as visible text, never
  reach the terminal as a control sequence. :func:`printable` escapes them in the CLI's output
  and in every log line.
- A malformed request (a bad request line, a header over the limits, TLS sent to the HTTP port)
  is answered 400 by aiohttp's parser, which logs it with a full traceback. It is the client's
  mistake, not the server's: one line says what was refused. An exception in devserver's own
  code still logs its traceback.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from functools import cache

__all__ = ["printable", "configure_logging", "quiet_client_errors"]

# C0 controls but tab and newline, DEL, C1 controls (0x9b is CSI on 8-bit terminals), bidi
# overrides and isolates, and lone surrogates (undecodable bytes in a file name).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff]")


def printable(text: str) -> str:
    r"""``text`` with every control character spelled out, valid inside JSON strings too.

    >>> printable("red\x1b[31mX")
    'red\\u001b[31mX'
    """
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class _TerminalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        # Some messages name devserver themselves, for a host's logging that adds no prefix.
        text = super().format(record).replace("devserver: devserver: ", "devserver: ", 1)
        return printable(text)


def configure_logging() -> None:
    """``devserver: message`` lines on stderr, control characters escaped (CLI and workers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_TerminalFormatter("devserver: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


@cache
def client_errors() -> tuple[type[BaseException], ...]:
    """A request the parser refused; a body that does not decode, raised again when aiohttp
    drains it. NOTE: imported on first use: `devserver run`'s supervisor logs, and never loads
    aiohttp."""
    from aiohttp.http_exceptions import HttpProcessingError
    from aiohttp.web_protocol import RequestPayloadError

    return (HttpProcessingError, RequestPayloadError)


class _ClientErrors(logging.Filter):
    """aiohttp's log of a request its parser refused: one line, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, ConnectionResetError):  # e.g. a `100 Continue` to a client that left
            record.msg, record.args = "a client closed its connection mid-request (%s)", (exc,)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
            return True
        if not isinstance(exc, client_errors()) or _raised_in_a_handler(exc):
            return True  # an exception in a handler is devserver's bug: keep its traceback
        # NOTE: a filter that raised would end aiohttp's connection task without closing it.
        from .request import unreadable_reason

        try:
            reason = unreadable_reason(exc).partition(": b'")[0].rstrip(":")
        except Exception:  # noqa: BLE001
            return True
        record.msg = "refused a malformed request (%s %s): %s"
        record.args = (getattr(exc, "code", 400), type(exc).__name__, reason)
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def _raised_in_a_handler(exc: BaseException) -> bool:
    # NOTE: the parser's own errors carry a traceback that ends in aiohttp's data_received;
    # one raised while a request was being handled passed through its _handle_request.
    return any(frame.name == "_handle_request" for frame in traceback.extract_tb(exc.__traceback__))


_FILTER = _ClientErrors()


def quiet_client_errors() -> None:
    """Install the filter on aiohttp's server logger (once per process)."""
    logger = logging.getLogger("aiohttp.server")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
