"""Pages through a real ``devserver run``: rendering, the store, hydration, redirects, sessions,
preflight, the read-only ``req``, and error pages in dev and outside it (DESIGN §1, §4).

Every request here goes over a real socket with ``http.client``: nothing is followed, nothing is
stored, and cookies are carried by hand so each test says exactly what it sends.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devserver import create_app
from devserver.pages import inject_before_body_end, store_script

from .conftest import Server, start_server, write_app

JSON = "application/json"
# Prefers JSON but takes HTML: a page-only route renders, and its errors come back as JSON.
JSON_FIRST = "application/json, text/html;q=0.5"
BROWSER = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
           "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7")


# --- helpers shared by test_negotiation and test_public -------------------------------------------


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def ctype(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip()

    def json(self) -> Any:
        assert self.ctype == JSON, (self.status, self.headers, self.body[:300])
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def cookie(self, name: str = "_idx") -> str | None:
        """The value of a Set-Cookie for ``name`` (None when it was not set)."""
        for value in self.headers.get_all("Set-Cookie") or []:
            first = value.split(";", 1)[0]
            key, _, val = first.partition("=")
            if key.strip() == name:
                return val
        return None


def fetch(url: str, method: str = "GET", path: str = "/", *, accept: str | None = BROWSER,
          headers: dict[str, str] | None = None, body: bytes | None = None) -> Reply:
    """One request on a fresh connection, ``path`` sent exactly as given (never normalised)."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    sent = {"Accept": accept} if accept is not None else {}
    sent.update(headers or {})
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for key, value in sent.items():
            conn.putheader(key, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return Reply(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def form(**fields: str) -> dict[str, Any]:
    """Keyword arguments for :func:`fetch` that POST an urlencoded form."""
    return {"body": urllib.parse.urlencode(fields).encode(),
            "headers": {"Content-Type": "application/x-www-form-urlencoded"}}


class _Scripts(HTMLParser):
    """Every ``<script>`` element: its attributes and its raw text, as an HTML parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.ids: list[str] = []
        self._open: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.append(str(found["id"]))
        if tag == "script":
            self._open, self._text = found, []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._open is not None:
            self.scripts.append((self._open, "".join(self._text)))
            self._open = None


def parse_scripts(html: str) -> _Scripts:
    parser = _Scripts()
    parser.feed(html)
    parser.close()
    return parser


def store_of(html: str) -> Any:
    """The hydrated store, read the way a browser would: exactly one element, its text as JSON."""
    parsed = parse_scripts(html)
    stores = [text for attrs, text in parsed.scripts if attrs.get("id") == "devserver-store"]
    assert len(stores) == 1, f"expected one devserver-store script, found {len(stores)}"
    assert parsed.ids.count("devserver-store") == 1
    attrs = next(a for a, _ in parsed.scripts if a.get("id") == "devserver-store")
    assert attrs.get("type") == "application/json"
    assert "<" not in stores[0], "the store's text must hold no '<' at all"
    return json.loads(stores[0])


# --- the app --------------------------------------------------------------------------------------

HOSTILE: dict[str, Any] = {
    "close": "</script><script>alert(1)</script>",
    "upper": "</SCRIPT >x",
    "comment": "<!-- <script>",
    "comment_end": "-->",
    "open": "<script>",
    "cdata": "<![CDATA[ ]]>",
    "body": "</body></html>",
    "lines": "a\u2028b\u2029c",
    "amp": "&amp; &lt; & &#x3c;",
    "quotes": "\"double\" 'single' `back`",
    "backslash": "\\u003c/script\\u003e \\",
    "nul": "\x00",
    "unicode": "caf\u00e9 \U0001f680",
    "</script>": "a key can be hostile too",
    "nested": [{"x": "</script>"}, "<!--", None, 1.5, True],
}

HOSTILE_SOURCE = f"HOSTILE = {HOSTILE!r}\n"

LAYOUT = """
    <!doctype html>
    <html>
    <head><title>{% block title %}site{% endblock %}</title></head>
    <body>
    {% include "_partials/nav.html" %}
    <main>{% block content %}{% endblock %}</main>
    </body>
    </html>
"""

APP: dict[str, str] = {
    "app/lib/calls.py": """
        preflight = []
        HOSTILE_PAGE = "/hostile-preflight"
    """,
    "app/lib/hostile.py": HOSTILE_SOURCE,
    "app/preflight.py": """
        from app.lib import calls
        from app.lib.hostile import HOSTILE


        async def preflight(req):
            calls.preflight.append(req.query.get("t"))
            base = {"site": "Demo", "shared": "from preflight", "only_preflight": True}
            if req.path == calls.HOSTILE_PAGE:
                base["hostile"] = HOSTILE
            return base
    """,
    "app/api/calls.py": """
        from app.lib import calls


        async def get(req):
            return {"json": {"preflight": calls.preflight}}
    """,
    "app/pages/_layout.html": LAYOUT,
    "app/pages/_partials/nav.html": """
        <nav id="nav">{{ store.site }} · <span id="nav-path">{{ req.path }}</span></nav>
    """,
    # --- pairing across spellings ---
    "app/api/users/$id.py": """
        async def get(req):
            return {"json": {"user": {"id": req.params["id"], "name": "Ada <b>"}}}
    """,
    "app/pages/users/[id].html": """
        {% extends "_layout.html" %}
        {% block title %}{{ store.user.name }}{% endblock %}
        {% block content %}
        <h1 id="name">{{ store.user.name }}</h1><p id="param">{{ req.params.id }}</p>
        {% endblock %}
    """,
    "app/api/things/[id].py": """
        async def get(req):
            return {"json": {"thing": req.params["id"]}}
    """,
    "app/pages/things/$id.html": """
        <html><body><p id="thing">{{ store.thing }}/{{ req.params.id }}</p></body></html>
    """,
    "app/api/docs/[...path].py": """
        async def get(req):
            return {"json": {"parts": req.params["path"]}}
    """,
    "app/pages/docs/[...path].html": """
        <html><body>
        <p id="parts">{{ store.parts | join("|") }}/{{ req.params.path | join("|") }}</p>
        </body></html>
    """,
    "app/api/posts/[[page]].py": """
        async def get(req):
            return {"json": {"page": req.params.get("page", "first")}}
    """,
    "app/pages/posts/[[page]].html": """
        <html><body><p id="page">{{ store.page }}</p></body></html>
    """,
    # --- a page with no API, using a layout and a partial ---
    "app/pages/about.html": """
        {% extends "_layout.html" %}
        {% block title %}About{% endblock %}
        {% block content %}<h1>About {{ store.site }}</h1>{% endblock %}
    """,
    # --- status, headers, cacheControl, session and location applied to the page ---
    "app/api/meta.py": """
        async def get(req):
            q = req.query
            out = {"json": {"seen": dict(req.session)}}
            if "status" in q:
                out["status"] = int(q["status"])
            if "header" in q:
                out["headers"] = {"X-Custom": q["header"], "Vary": "Cookie"}
            if "cache" in q:
                out["cacheControl"] = q["cache"]
            if "session" in q:
                out["session"] = {"set": q["session"]}
            if "location" in q:
                out["location"] = q["location"]
            return out
    """,
    "app/pages/meta.html": """
        <html><body><p id="seen">{{ store.seen }}</p><p id="session">{{ req.session }}</p></body></html>
    """,
    # --- forms: re-render without a location, redirect with one ---
    "app/api/form.py": """
        async def get(req):
            return {"json": {"name": "", "note": "empty form"}}


        def _answer(req):
            body = req.body if isinstance(req.body, dict) else {}
            name = body.get("name", "")
            if not name:
                return {"status": 422, "json": {"error": "name is required", "name": ""}}
            if body.get("redirect"):
                out = {"location": "/form?saved=" + name, "json": {"saved": name}}
                if body.get("status"):
                    out["status"] = int(body["status"])
                return out
            return {"json": {"name": name, "saved": True}}


        async def post(req):
            return _answer(req)


        async def put(req):
            return _answer(req)


        async def delete(req):
            return {"json": {"deleted": True}}
    """,
    "app/pages/form.html": """
        <html><body>
        <p id="method">{{ req.method }}</p>
        <p id="name">{{ store.name }}</p>
        <p id="error">{{ store.error }}</p>
        <p id="note">{{ store.note }}</p>
        </body></html>
    """,
    # --- a flash message through the session ---
    "app/api/flash.py": """
        async def get(req):
            flash = req.session.get("flash")
            rest = {k: v for k, v in req.session.items() if k != "flash"}
            return {"json": {"flash": flash}, "session": rest}


        async def post(req):
            return {"location": "/flash", "session": {**req.session, "flash": "Saved <ok>"}}
    """,
    "app/pages/flash.html": """
        <html><body>{% if store.flash %}<p id="flash">{{ store.flash }}</p>{% endif %}</body></html>
    """,
    # --- the read-only req ---
    "app/api/login.py": """
        async def post(req):
            return {"session": {"user": "ada", "roles": ["admin"]}, "location": "/req/x"}
    """,
    "app/pages/req/[name].html": """
        <html><body>
        <p id="method">{{ req.method }}</p>
        <p id="path">{{ req.path }}</p>
        <p id="params">{{ req.params | tojson }}</p>
        <p id="query">{{ req.query | tojson }}</p>
        <p id="session">{{ req.session | tojson }}</p>
        <p id="keys">{{ req.keys() | sort | join(",") }}</p>
        <p id="mutable">{% for k in ["params", "query", "session"] -%}
        {{ k }}={{ req[k].update is defined or req[k].__setitem__ is defined }};
        {%- endfor %}</p>
        </body></html>
    """,
    "app/pages/req/mutate.html": """
        <html><body>{{ req.session.__setitem__("user", "mallory") }}</body></html>
    """,
    # --- hydration ---
    "app/api/hostile.py": """
        from app.lib.hostile import HOSTILE


        async def get(req):
            return {"json": {"hostile": HOSTILE}}
    """,
    "app/pages/hostile.html": """
        <html><body>
        <p id="shown">{{ store.hostile.close }}</p><p id="shown-comment">{{ store.hostile.comment }}</p>
        </body></html>
    """,
    "app/pages/hostile-preflight.html": """
        <html><body><p>{{ store.hostile.close }}</p></body></html>
    """,
    "app/api/scalar.py": """
        async def get(req):
            return {"json": [1, "</script>", 3]}
    """,
    "app/pages/scalar.html": "<html><body>{{ store.data | length }}</body></html>",
    "app/api/unserializable.py": """
        class Secret:
            pass


        async def get(req):
            if req.query.get("nan"):
                return {"json": {"value": float("nan")}}
            return {"json": {"value": Secret()}}
    """,
    "app/pages/unserializable.html": "<html><body>rendered</body></html>",
    "app/pages/nobody.html": "<p id='fragment'>no body element</p>",
    "app/pages/twobodies.html": """
        <html><body><pre>{{ "</body>" }}</pre><template></body></template></body></html>
    """,
    # --- a page whose API has no get ---
    "app/api/postonly.py": """
        async def post(req):
            return {"json": {"posted": True}}
    """,
    "app/pages/postonly.html": "<html><body><p id='posted'>{{ store.posted }}</p></body></html>",
    # --- errors ---
    "app/api/boom.py": """
        async def get(req):
            value = 1
            return {"json": value // 0}
    """,
    "app/api/vendored.py": """
        import sys
        from pathlib import Path

        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".venv" / "lib" / "site-packages"))
        import fakelib


        async def get(req):
            return {"json": fakelib.explode()}
    """,
    ".venv/lib/site-packages/fakelib.py": """
        def explode():
            raise ValueError("deep inside a library")
    """,
    "app/api/handled.py": """
        async def get(req):
            return {"status": 404, "json": {"error": "no such thing"}}
    """,
    "app/pages/handled.html": "<html><body><p id='err'>{{ store.error }}</p></body></html>",
    "app/pages/tplruntime.html": """
        <html><body>
        <p>line two</p>
        {{ store.missing.deeper }}
        </body></html>
    """,
    "app/pages/tplsyntax.html": """
        <html><body>
        {% if %}
        </body></html>
    """,
    "app/pages/tplmissing.html": """
        {% extends "_nope.html" %}
    """,
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_app(tmp_path_factory.mktemp("pages"), APP)


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[Server]:
    running = start_server(root, "--no-reload")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def url(server: Server) -> str:
    return server.url


def element(html: str, ident: str) -> str:
    """The inner HTML of the element with ``id=ident`` (flat elements only)."""
    found = re.search(rf'id=["\']{re.escape(ident)}["\'][^>]*>(.*?)</', html, re.S)
    assert found, f"no element #{ident} in:\n{html[:2000]}"
    return found.group(1)


# --- rendering and pairing ------------------------------------------------------------------------


def test_api_and_page_of_one_shape_pair_across_spellings(url: str) -> None:
    reply = fetch(url, "GET", "/users/42")
    assert (reply.status, reply.ctype) == (200, "text/html")
    assert element(reply.text, "name") == "Ada &lt;b&gt;"  # autoescaped
    assert element(reply.text, "param") == "42"
    assert store_of(reply.text)["user"] == {"id": "42", "name": "Ada <b>"}
    assert fetch(url, "GET", "/users/42", accept=JSON).json() == {"user": {"id": "42", "name": "Ada <b>"}}


def test_bracket_api_pairs_with_dollar_page(url: str) -> None:
    reply = fetch(url, "GET", "/things/7")
    assert element(reply.text, "thing") == "7/7"


def test_catch_all_and_optional_pages(url: str) -> None:
    assert element(fetch(url, "GET", "/docs/a/b%2Fc").text, "parts") == "a|b/c/a|b/c"
    assert element(fetch(url, "GET", "/posts").text, "page") == "first"
    assert element(fetch(url, "GET", "/posts/3").text, "page") == "3"


def test_extends_and_include_of_underscore_templates(url: str) -> None:
    reply = fetch(url, "GET", "/about")
    assert reply.status == 200
    assert "<title>About</title>" in reply.text
    assert "<h1>About Demo</h1>" in reply.text
    assert element(reply.text, "nav-path") == "/about"


def test_the_dev_log_suggests_a_redirect_after_a_re_render(url: str, server: Server) -> None:
    fetch(url, "POST", "/form", **form(name="logged"))
    assert "POST /form re-rendered app/pages/form.html; return a `location`" in server.output


def test_a_failing_preflight_breaks_pages_only(tmp_path: Path) -> None:
    root = write_app(tmp_path, {
        "app/preflight.py": """
            async def preflight(req):
                raise RuntimeError("preflight broke")
        """,
        "app/api/index.py": "async def get(req):\n    return {'json': {'ok': True}}\n",
        "app/pages/index.html": "<html><body></body></html>",
    })
    server = start_server(root, "--no-reload")
    try:
        page = fetch(server.url, "GET", "/")
        assert page.status == 500
        assert "preflight broke" in page.text and "app/preflight.py:2" in page.text
        assert fetch(server.url, "GET", "/", accept=JSON).json() == {"ok": True}
    finally:
        server.stop()


def test_underscore_templates_are_never_routes(url: str) -> None:
    for path in ("/_layout", "/_partials/nav"):
        assert fetch(url, "GET", path).status == 404, path


def test_head_of_a_page_has_the_headers_and_no_body(url: str) -> None:
    get = fetch(url, "GET", "/users/1")
    head = fetch(url, "HEAD", "/users/1")
    assert (head.status, head.body) == (200, b"")
    assert head.header("Content-Type") == get.header("Content-Type")
    assert head.header("Vary") == "Accept"


# --- the API's result applied to the page ---------------------------------------------------------


def test_api_status_applies_to_the_page(url: str) -> None:
    reply = fetch(url, "GET", "/meta?status=418")
    assert (reply.status, reply.ctype) == (418, "text/html")
    assert "seen" in store_of(reply.text)
    handled = fetch(url, "GET", "/handled")
    assert handled.status == 404
    assert element(handled.text, "err") == "no such thing"  # the page, not an error page


def test_api_headers_and_cache_control_apply_to_the_page(url: str) -> None:
    reply = fetch(url, "GET", "/meta?header=yes&cache=private,%20max-age=60")
    assert reply.header("X-Custom") == "yes"
    assert reply.header("Cache-Control") == "private, max-age=60"
    assert reply.header("Vary") == "Cookie, Accept"
    assert reply.ctype == "text/html"


def test_dev_default_cache_control_on_pages(url: str) -> None:
    assert fetch(url, "GET", "/about").header("Cache-Control") == "no-cache"
    assert fetch(url, "GET", "/meta").header("Cache-Control") == "no-cache"


def test_api_session_applies_to_the_page(url: str) -> None:
    reply = fetch(url, "GET", "/meta?session=hello")
    assert reply.status == 200 and reply.ctype == "text/html"
    cookie = reply.cookie()
    assert cookie
    after = fetch(url, "GET", "/meta", accept=JSON, headers={"Cookie": f"_idx={cookie}"})
    assert after.json()["seen"] == {"set": "hello"}


@pytest.mark.parametrize(("query", "status"), [("", 302), ("&status=301", 301), ("&status=307", 307)])
def test_api_location_redirects_an_html_get(url: str, query: str, status: int) -> None:
    reply = fetch(url, "GET", f"/meta?location=/about{query}")
    assert (reply.status, reply.header("Location")) == (status, "/about")
    assert reply.header("Vary") == "Accept"
    assert reply.body == b""


def test_api_location_is_not_followed_by_json_clients(url: str) -> None:
    reply = fetch(url, "GET", "/meta?location=/about", accept=JSON)
    assert reply.status == 200
    assert reply.header("Location") is None
    assert reply.json() == {"seen": {}}
    created = fetch(url, "GET", "/meta?location=/about&status=201", accept=JSON)
    assert (created.status, created.header("Location")) == (201, "/about")


# --- non-GET requests from HTML clients -----------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_non_get_without_location_re_renders_the_page_with_the_json(url: str, method: str) -> None:
    reply = fetch(url, method, "/form", **form(name="Grace <3"))
    assert (reply.status, reply.ctype) == (200, "text/html")
    assert element(reply.text, "method") == method
    assert element(reply.text, "name") == "Grace &lt;3"
    assert store_of(reply.text) == {"site": "Demo", "shared": "from preflight", "only_preflight": True,
                                    "name": "Grace <3", "saved": True}
    assert element(reply.text, "note") == ""  # the GET handler did not run


def test_re_render_keeps_the_handlers_status(url: str) -> None:
    reply = fetch(url, "POST", "/form", **form(name=""))
    assert (reply.status, reply.ctype) == (422, "text/html")
    assert element(reply.text, "error") == "name is required"


def test_form_method_override_re_renders_with_that_method(url: str) -> None:
    reply = fetch(url, "POST", "/form", **form(name="x", _method="put"))
    assert element(reply.text, "method") == "PUT"
    deleted = fetch(url, "POST", "/form", **form(_method="delete"))
    assert store_of(deleted.text)["deleted"] is True


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_non_get_with_location_redirects_with_303(url: str, method: str) -> None:
    reply = fetch(url, method, "/form", **form(name="Ada", redirect="1"))
    assert (reply.status, reply.header("Location")) == (303, "/form?saved=Ada")
    assert reply.body == b""


def test_non_get_with_a_3xx_status_keeps_it(url: str) -> None:
    reply = fetch(url, "POST", "/form", **form(name="Ada", redirect="1", status="307"))
    assert (reply.status, reply.header("Location")) == (307, "/form?saved=Ada")


def test_json_clients_get_the_json_of_a_non_get(url: str) -> None:
    reply = fetch(url, "POST", "/form", accept=JSON, **form(name="Ada", redirect="1"))
    assert (reply.status, reply.json()) == (200, {"saved": "Ada"})
    assert reply.header("Location") is None
    plain = fetch(url, "POST", "/form", accept=JSON, **form(name="Ada"))
    assert plain.json() == {"name": "Ada", "saved": True}


def test_redirect_after_post_carries_a_flash_message_through_the_session(url: str) -> None:
    posted = fetch(url, "POST", "/flash", **form(x="1"))
    assert (posted.status, posted.header("Location")) == (303, "/flash")
    cookie = posted.cookie()
    assert cookie
    shown = fetch(url, "GET", "/flash", headers={"Cookie": f"_idx={cookie}"})
    assert element(shown.text, "flash") == "Saved &lt;ok&gt;"
    assert store_of(shown.text)["flash"] == "Saved <ok>"
    # The GET handler dropped the flash from the session: shown once.
    cleared = shown.cookie()
    assert cleared is not None
    again = fetch(url, "GET", "/flash", headers={"Cookie": f"_idx={cleared}"})
    assert 'id="flash"' not in again.text


def test_page_without_a_get_handler_renders_with_the_preflight_store(url: str) -> None:
    reply = fetch(url, "GET", "/postonly")
    assert reply.status == 200
    assert store_of(reply.text) == {"site": "Demo", "shared": "from preflight", "only_preflight": True}
    assert fetch(url, "GET", "/postonly", accept=JSON).status == 406
    assert store_of(fetch(url, "POST", "/postonly").text)["posted"] is True


# --- preflight ------------------------------------------------------------------------------------


def test_preflight_runs_for_html_only_and_is_merged_under_the_store(url: str) -> None:
    html = fetch(url, "GET", "/users/1?t=html-one")
    store = store_of(html.text)
    assert store["site"] == "Demo" and store["only_preflight"] is True
    assert store["user"]["id"] == "1"
    json_reply = fetch(url, "GET", "/users/1?t=json-one", accept=JSON)
    assert "site" not in json_reply.json()
    assert fetch(url, "HEAD", "/users/1?t=head-json", accept=JSON).status == 200
    calls = fetch(url, "GET", "/calls", accept=JSON).json()["preflight"]
    assert "html-one" in calls
    assert "json-one" not in calls and "head-json" not in calls


def test_api_json_overrides_preflight_keys(tmp_path: Path) -> None:
    root = write_app(tmp_path, {
        "app/preflight.py": "def preflight(req):\n    return {'a': 'pre', 'b': 'pre'}\n",
        "app/api/index.py": "async def get(req):\n    return {'json': {'b': 'api'}}\n",
        "app/pages/index.html": "<html><body></body></html>",
    })
    server = start_server(root, "--no-reload")
    try:
        assert store_of(fetch(server.url, "GET", "/").text) == {"a": "pre", "b": "api"}
    finally:
        server.stop()


def test_non_object_json_goes_under_data(url: str) -> None:
    store = store_of(fetch(url, "GET", "/scalar").text)
    assert store["data"] == [1, "</script>", 3]
    assert store["site"] == "Demo"


# --- req in templates -----------------------------------------------------------------------------


def test_req_in_templates_has_method_path_params_query_and_session(url: str) -> None:
    login = fetch(url, "POST", "/login", **form(x="1"))
    assert (login.status, login.header("Location")) == (303, "/req/x")
    cookie = f"_idx={login.cookie()}"
    reply = fetch(url, "GET", "/req/a%20b?x=1&tag=a&tag=b", headers={"Cookie": cookie})
    assert reply.status == 200
    text = reply.text
    assert element(text, "method") == "GET"
    assert element(text, "path") == "/req/a b"
    assert json.loads(_unescape(element(text, "params"))) == {"name": "a b"}
    assert json.loads(_unescape(element(text, "query"))) == {"x": "1", "tag": ["a", "b"]}
    assert json.loads(_unescape(element(text, "session"))) == {"user": "ada", "roles": ["admin"]}
    assert element(text, "keys") == "method,params,path,query,session"


def test_req_in_templates_is_read_only(url: str) -> None:
    reply = fetch(url, "GET", "/req/x?q=1")
    assert element(reply.text, "mutable") == "params=False;query=False;session=False;"
    login = fetch(url, "POST", "/login", **form(x="1"))
    cookie = f"_idx={login.cookie()}"
    mutate = fetch(url, "GET", "/req/mutate", headers={"Cookie": cookie}, accept=JSON + ",text/html;q=0.9")
    assert mutate.status == 500  # a template cannot write to the session
    after = fetch(url, "GET", "/meta", accept=JSON, headers={"Cookie": cookie})
    assert after.json()["seen"] == {"user": "ada", "roles": ["admin"]}


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)


# --- hydration ------------------------------------------------------------------------------------


def test_hostile_store_values_cannot_break_out_of_the_script(url: str) -> None:
    reply = fetch(url, "GET", "/hostile")
    assert reply.status == 200
    store = store_of(reply.text)
    assert store == {"site": "Demo", "shared": "from preflight", "only_preflight": True,
                     "hostile": HOSTILE}
    parsed = parse_scripts(reply.text)
    assert [a.get("id") for a, _ in parsed.scripts] == ["devserver-store"]  # no injected script
    assert element(reply.text, "shown") == "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    raw = reply.text
    assert "\u2028" not in raw and "\u2029" not in raw


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
TAGGY = st.text(alphabet=st.sampled_from(list("<>/!-&'\"\\ \u2028\u2029\x00sScriptBODY[]")), max_size=40)


@settings(max_examples=300, deadline=None)
@given(store=st.dictionaries(st.text() | TAGGY, JSON_VALUES | TAGGY, max_size=6))
def test_any_store_reads_back_exactly_from_the_script_element(store: dict[str, Any]) -> None:
    page = inject_before_body_end("<html><body><p>x</p></body></html>", store_script(store))
    assert store_of(page) == store


def test_hostile_preflight_values_on_a_page_without_an_api(url: str) -> None:
    store = store_of(fetch(url, "GET", "/hostile-preflight").text)
    assert store["hostile"] == HOSTILE


def test_hostile_json_is_untouched_for_json_clients(url: str) -> None:
    assert fetch(url, "GET", "/hostile", accept=JSON).json() == {"hostile": HOSTILE}


def test_store_is_embedded_before_the_last_body_end(url: str) -> None:
    text = fetch(url, "GET", "/twobodies").text
    assert text.index('id="devserver-store"') > text.index("</template>")
    assert text.rstrip().endswith("</script></body></html>")
    assert store_of(text)["site"] == "Demo"


def test_store_is_appended_to_a_page_without_a_body(url: str) -> None:
    text = fetch(url, "GET", "/nobody").text
    assert text.startswith("<p id='fragment'>")
    assert store_of(text)["site"] == "Demo"


@pytest.mark.parametrize(("query", "words"), [
    ("", ["store[&#39;value&#39;] is an object of type Secret", "JSON cannot hold"]),
    ("?nan=1", ["store[&#39;value&#39;] is nan", "JSON cannot hold"]),
])
def test_a_store_that_is_not_json_is_a_500_that_says_why(url: str, query: str, words: list[str]) -> None:
    reply = fetch(url, "GET", f"/unserializable{query}")
    assert (reply.status, reply.ctype) == (500, "text/html")
    assert "devserver-store" not in reply.text
    for word in words:
        assert word in reply.text


# --- devserver's own error pages in dev -----------------------------------------------------------


def test_dev_404_explains_the_routing_with_a_link_to_the_dashboard(url: str) -> None:
    reply = fetch(url, "GET", "/users/1/extra")
    assert (reply.status, reply.ctype) == (404, "text/html")
    assert reply.header("Vary") == "Accept"
    text = reply.text
    assert "no route matches /users/1/extra" in text
    assert "/users/$id" in text  # the route that came closest
    assert "extra segment" in text  # and why it lost
    assert 'href="/__routes?path=/users/1/extra&amp;method=GET"' in text


def test_dev_404_as_json_carries_the_explanation(url: str) -> None:
    error = fetch(url, "GET", "/users/1/extra", accept=JSON).json()["error"]
    assert error["status"] == 404
    assert error["message"] == "no route matches /users/1/extra"
    candidates = error["explanation"]["candidates"]
    assert any(c["route"] == "users/$id" and "extra" in c["reason"] for c in candidates)


def test_dev_500_shows_the_exception_traceback_and_highlighted_line(url: str, root: Path) -> None:
    reply = fetch(url, "GET", "/boom")
    assert (reply.status, reply.ctype) == (500, "text/html")
    text = reply.text
    assert "ZeroDivisionError" in text
    assert "app/api/boom.py:3" in text
    assert "Traceback (most recent call last)" in text
    highlighted = re.findall(r'<div class="err"><span class="n">(\d+)</span>(.*?)</div>', text)
    assert highlighted == [("3", "    return {&#34;json&#34;: value // 0}")]


def test_dev_500_headline_and_frames(url: str) -> None:
    text = fetch(url, "GET", "/boom").text
    assert "<h1>ZeroDivisionError: integer division or modulo by zero</h1>" in text
    assert "in <code>get()</code>, " in text
    frame = r'<li class="(mine|lib)">\s*<div class="where"><span class="fn">([^<]*)</span> · ([^<]*)</div>'
    frames = re.findall(frame, text)
    assert frames[-1] == ("mine", "get", "app/api/boom.py:3")  # the user's frame, marked
    assert all(kind == "lib" for kind, _, _ in frames[:-1])  # devserver's own frames, dimmed
    assert "<details><summary>Full traceback" in text


def test_dev_404_reasons_show_code_as_code(url: str) -> None:
    text = fetch(url, "GET", "/users/1/extra").text
    assert "path has one extra segment: <code>/extra</code>" in text
    assert "`" not in text.split("<table>", 1)[1].split("</table>", 1)[0]


def test_dev_500_as_json(url: str) -> None:
    error = fetch(url, "GET", "/boom", accept=JSON).json()["error"]
    assert error["status"] == 500
    assert error["type"] == "ZeroDivisionError"
    assert (error["file"], error["line"]) == ("app/api/boom.py", 3)
    assert "Traceback" in error["traceback"]


def test_dev_500_points_at_the_users_line_not_a_library_in_the_project_venv(url: str) -> None:
    error = fetch(url, "GET", "/vendored", accept=JSON).json()["error"]
    assert (error["file"], error["line"]) == ("app/api/vendored.py", 9)
    assert "fakelib.py" in error["traceback"]  # the whole traceback is still there


@pytest.mark.parametrize(("path", "line", "kind"), [
    ("/tplruntime", 3, "UndefinedError"),
    ("/tplsyntax", 2, "TemplateSyntaxError"),
])
def test_dev_500_for_a_template_error_points_at_the_template(url: str, path: str, line: int,
                                                             kind: str) -> None:
    reply = fetch(url, "GET", path)
    assert reply.status == 500
    text = reply.text
    assert kind in text
    assert f"app/pages{path}.html:{line}" in text
    highlighted = re.findall(r'<div class="err"><span class="n">(\d+)</span>', text)
    assert highlighted == [str(line)]
    error = fetch(url, "GET", path, accept=JSON_FIRST).json()["error"]
    assert (error["file"], error["line"], error["type"]) == (f"app/pages{path}.html", line, kind)


def test_dev_500_for_a_missing_parent_template(url: str) -> None:
    error = fetch(url, "GET", "/tplmissing", accept=JSON_FIRST).json()["error"]
    assert error["type"] == "TemplateNotFound"
    assert "_nope.html" in error["message"]


def test_405_follows_the_client(url: str) -> None:
    html = fetch(url, "DELETE", "/about")
    assert (html.status, html.ctype, html.header("Allow")) == (405, "text/html", "GET, HEAD, OPTIONS")
    error = fetch(url, "DELETE", "/about", accept=JSON).json()["error"]
    assert error["status"] == 405 and error["allow"] == ["GET", "HEAD", "OPTIONS"]


# --- the app's own 404.html and 500.html ----------------------------------------------------------

ERROR_PAGES = {
    "app/pages/_layout.html": LAYOUT,
    "app/pages/_partials/nav.html": """
        <nav>{{ req.path }} {{ req.query.get("ref", "-") }} {{ req.session.get("user", "guest") }}</nav>
    """,
    "app/pages/404.html": """
        {% extends "_layout.html" %}
        {% block content %}
        <h1 id="status">{{ error.status }}</h1><p id="message">{{ error.message }}</p>
        {% endblock %}
    """,
    "app/pages/500.html": """
        <html><body><h1 id="status">{{ error.status }} {{ error.title }}</h1>
        <p id="message">{{ error.message }}</p>
        <p id="type">{{ error.type }}</p>
        <p id="where">{{ error.file }}:{{ error.line }}</p>
        <pre id="traceback">{{ error.traceback }}</pre>
        </body></html>
    """,
    "app/api/boom.py": """
        async def get(req):
            raise KeyError("gone")
    """,
    "app/api/ok.py": """
        async def get(req):
            return {"json": {"ok": True}}
    """,
    "app/pages/ok.html": "<html><body>ok</body></html>",
}


@pytest.fixture(scope="module")
def error_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_app(tmp_path_factory.mktemp("errorpages"), ERROR_PAGES)


@pytest.fixture(scope="module")
def error_url(error_root: Path) -> Iterator[str]:
    running = start_server(error_root, "--no-reload")
    yield running.url
    running.stop()


def test_app_404_page_is_used_with_error_in_context(error_url: str) -> None:
    reply = fetch(error_url, "GET", "/missing")
    assert (reply.status, reply.ctype) == (404, "text/html")
    assert element(reply.text, "status") == "404"
    assert element(reply.text, "message") == "no route matches /missing"
    assert "<nav>/missing - guest</nav>" in reply.text  # layouts and partials work in error pages
    with_query = fetch(error_url, "GET", "/missing?ref=mail")
    assert "<nav>/missing mail guest</nav>" in with_query.text  # req has the shape pages get


def test_app_500_page_is_used_with_error_in_context(error_url: str) -> None:
    reply = fetch(error_url, "GET", "/boom")
    assert (reply.status, reply.ctype) == (500, "text/html")
    assert element(reply.text, "status") == "500 Internal Server Error"
    assert "KeyError" in element(reply.text, "message")
    assert element(reply.text, "type") == "KeyError"
    assert element(reply.text, "where") == "app/api/boom.py:2"
    assert "Traceback" in element(reply.text, "traceback")


def test_app_error_pages_are_not_routes(error_url: str) -> None:
    assert fetch(error_url, "GET", "/404", accept=JSON).status == 404
    assert fetch(error_url, "GET", "/500", accept=JSON).status == 404


def test_json_clients_get_json_errors_even_with_app_error_pages(error_url: str) -> None:
    assert fetch(error_url, "GET", "/missing", accept=JSON).json()["error"]["status"] == 404
    error = fetch(error_url, "GET", "/boom", accept=JSON).json()["error"]
    assert error["status"] == 500 and error["type"] == "KeyError"


def test_a_broken_app_error_page_falls_back_to_devservers_own(tmp_path: Path) -> None:
    root = write_app(tmp_path, {
        "app/pages/404.html": "{{ error.nope.deeper }}",
        "app/pages/index.html": "<html><body></body></html>",
    })
    server = start_server(root, "--no-reload")
    try:
        reply = fetch(server.url, "GET", "/missing")
        assert reply.status == 404
        assert "no route matches /missing" in reply.text
        assert "UndefinedError" in server.output
    finally:
        server.stop()


# --- outside dev: no traceback, no file path ------------------------------------------------------

PROD = {
    **ERROR_PAGES,
    "app/api/tpl.py": "async def get(req):\n    return {'json': {}}\n",
    "app/pages/tpl.html": "<html><body>{{ store.missing.deeper }}</body></html>",
    "app/pages/syntax.html": "{% if %}",
    "app/pages/only.html": "<html><body>page</body></html>",
    "app/api/users/[id].py": "async def get(req):\n    return {'json': {}}\n",
    "app/api/users/[slug].py": "async def get(req):\n    return {'json': {}}\n",
}


def _leaks(text: str, root: Path) -> list[str]:
    words = ["Traceback", "app/api", "app/pages", ".py", ".html", str(root), "line ", "KeyError",
             "gone", "UndefinedError", "__routes"]
    return [w for w in words if w in text]


@pytest.fixture
def prod_root(tmp_path: Path) -> Path:
    files = {k: v for k, v in PROD.items() if k not in ("app/pages/404.html", "app/pages/500.html")}
    return write_app(tmp_path, files)


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/boom", "/tpl", "/syntax", "/users/1"])
async def test_outside_dev_500_shows_nothing_of_the_code(aiohttp_client: Any, prod_root: Path,
                                                         path: str) -> None:
    client = await aiohttp_client(create_app(prod_root, dev=False))
    if path != "/tpl":  # its API answers JSON clients; only the template is broken
        resp = await client.get(path, headers={"Accept": JSON_FIRST})
        assert resp.status == 500
        assert await resp.json() == {"error": {"status": 500, "message": "Internal Server Error"}}
    resp = await client.get(path, headers={"Accept": BROWSER})
    assert (resp.status, resp.content_type) == (500, "text/html")
    text = await resp.text()
    assert "Internal Server Error" in text
    assert _leaks(text, prod_root) == []


@pytest.mark.asyncio
@pytest.mark.parametrize(("method", "path", "accept", "status"), [
    ("GET", "/nowhere", BROWSER, 404),
    ("GET", "/nowhere", JSON, 404),
    ("DELETE", "/only", BROWSER, 405),
    ("GET", "/only", JSON, 406),
    ("GET", "/_public/nope.css", BROWSER, 404),
])
async def test_outside_dev_4xx_shows_no_explanation_or_path(aiohttp_client: Any, prod_root: Path,
                                                            method: str, path: str, accept: str,
                                                            status: int) -> None:
    client = await aiohttp_client(create_app(prod_root, dev=False))
    resp = await client.request(method, path, headers={"Accept": accept})
    assert resp.status == status
    text = await resp.text()
    assert _leaks(text, prod_root) == []
    assert "explanation" not in text and "candidates" not in text
    assert "devserver-live" not in text and "/__devserver/" not in text
    assert resp.headers["Cache-Control"] == "no-store"


@pytest.mark.asyncio
async def test_outside_dev_pages_render_without_dev_extras(aiohttp_client: Any, prod_root: Path) -> None:
    client = await aiohttp_client(create_app(prod_root, dev=False))
    resp = await client.get("/only", headers={"Accept": BROWSER})
    assert resp.status == 200
    text = await resp.text()
    assert store_of(text) == {}
    assert "/__devserver/" not in text
    assert "Cache-Control" not in resp.headers
    assert resp.headers["Vary"] == "Accept"


@pytest.mark.asyncio
async def test_outside_dev_app_error_pages_get_no_traceback_or_file(aiohttp_client: Any,
                                                                  tmp_path: Path) -> None:
    root = write_app(tmp_path, PROD)
    client = await aiohttp_client(create_app(root, dev=False))
    resp = await client.get("/boom", headers={"Accept": BROWSER})
    assert resp.status == 500
    text = await resp.text()
    assert element(text, "status") == "500 Internal Server Error"
    assert element(text, "message") == "Internal Server Error"
    assert element(text, "type") == "" and element(text, "where") == ":"
    assert element(text, "traceback") == ""
    assert _leaks(text, root) == []
    resp = await client.get("/missing", headers={"Accept": BROWSER})
    text = await resp.text()
    assert (resp.status, element(text, "message")) == (404, "no route matches /missing")
