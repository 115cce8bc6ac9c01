"""Python source generated from the matcher's trie, one small function per subtree.

:mod:`.matcher` keeps the trie; this module turns a node of it into a function that matches the
rest of a path below that node, written out as straight-line ``if`` code and compiled:

    def _node(parts, n, K):
        if n > 2:
            s2 = parts[2]
            if s2 == K[0]:         # a static child, inlined
                if n == 3:
                    m = _Made()
                    ...
                    return m
            if s2:                 # the dynamic sibling, tried when the static branch failed
                if n == 3:
                    m = _Made()
                    m.route = K[4]
                    m.params = {K[3]: s2}
                    m.spec = K[5]
                    return m
        return None

``parts`` is ``path.split("/")``, ``n`` its length and ``K`` the node's values (``node.k``);
the caller has already checked that the path needs no decoding and has no trailing slash (see
``top_function``).

A node's code tries its children in precedence order (route ends here, static, dynamic, optional,
catch-all, optional catch-all) and falls through to the next when one cannot finish, so the
nesting of ``if`` blocks is the backtracking walk of ``matcher._walk``, unrolled: the first
``return`` reached is the route the walk would return. An optional segment (whose values move
the positions of everything after it) is not unrolled: its code returns ``RETRY``, and the caller
redoes the whole path with the walk.

NOTE: no text from a route (file names) is ever written into the source: static names, route
ids, parameter names and the routes themselves are values passed in (``K[0]``..., or default
arguments ``_k0``... in the top function), so the source depends only on the shape of the
subtree. Subtrees of one shape (``users-1/[id]``, ``users-2/[id]``...) share one function
(``_SHARED``), and making the code of one more of them is making its tuple of values.

PERF: a function is made for a node the first time a path reaches it (``build``), so a build of
10,000 routes compiles nothing; a subtree larger than ``INLINE_BUDGET`` nodes, or a node with
more than ``INLINE_STATIC`` static children, is split: the rest is a dict lookup and a call to
the child's own function.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from types import CodeType, FunctionType
from typing import Any, Protocol

from .result import _Made
from .routes import Route
from .segments import Kind

__all__ = ["RETRY", "NodeLike", "build", "node_source", "top_function"]

# Nodes inlined into one function before the rest is split into calls (each inlined level also
# adds up to two indents; Python's tokenizer stops at 100).
INLINE_BUDGET = 24
# Static children compared one by one (`if s == a: ... elif s == b:`) before a dict is used.
INLINE_STATIC = 4
_CODE_CACHE_MAX = 4096


class _Retry:
    """Returned by generated code for a path only the full walk can match (an optional segment)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "RETRY"


RETRY: Any = _Retry()


class NodeLike(Protocol):
    """What the generator reads from a trie node (``matcher._Node``)."""

    end: Any
    static: dict[str, Any]
    dynamic: Any
    optional: Any
    catchall: Any
    optcatch: Any
    depth: int
    fn: Callable[[list[str], int, tuple[object, ...]], Any] | None
    k: tuple[object, ...]


# The compiled code objects, by source text (the source depends only on a subtree's shape), and
# the one function of each that nodes share.
_CODE: dict[str, CodeType] = {}
_SHARED: dict[str, FunctionType] = {}


class _Emitter:
    """Source for one function, built line by line. Values go in as default arguments (``_k0``)
    in the top function, and in a node's function as the tuple ``K`` of the node (``node.k``),
    so that one function serves every node of a shape."""

    def __init__(self, shared: bool) -> None:
        self.shared = shared
        self.lines: list[str] = []
        self.consts: list[object] = []
        self.budget = INLINE_BUDGET
        # The top function hands a path that needs the walk to it (``slow``, the name of the
        # walk there); a node's function returns RETRY, and the top does the same.
        self.slow = ""

    def const(self, value: object) -> str:
        self.consts.append(value)
        return f"K[{len(self.consts) - 1}]" if self.shared else f"_k{len(self.consts) - 1}"

    def line(self, ind: int, text: str) -> None:
        self.lines.append("    " * ind + text)

    def node(self, node: NodeLike, i: int, ind: int, have: frozenset[int],
             more_parts: bool = False) -> None:
        """Code that matches ``parts[i:]`` below ``node``: returns on success, falls through if
        no route under ``node`` matches. ``have``: the indexes whose part is in a local ``s<i>``;
        ``more_parts``: ``n > i`` is known."""
        self.budget -= 1
        end = not more_parts and (node.end is not None or node.optional is not None
                                  or node.optcatch is not None)
        more = (bool(node.static) or node.dynamic is not None or node.optional is not None
                or node.catchall is not None or node.optcatch is not None)
        if end:
            self.line(ind, f"if n == {i}:")
            if node.end is not None:
                self.leaf(node.end, i, ind + 1, have, rest=False)
            elif node.optional is not None:
                self.retry(ind + 1)  # the walk tries the optional with no value
            else:
                self.leaf(node.optcatch, i, ind + 1, have, rest=False)
        if not more:
            return
        if not more_parts:
            self.line(ind, "else:" if end else f"if n > {i}:")
            ind += 1
        if node.static or node.dynamic is not None:
            self.line(ind, f"s{i} = parts[{i}]")
            have = have | {i}
        if node.static:
            self.statics(node, i, ind, have)
        if node.dynamic is not None:
            self.line(ind, f"if s{i}:")  # `//`: an empty part is never a value
            if self.budget > 0:
                self.node(node.dynamic, i + 1, ind + 1, have)
            else:
                self.call(self.const(node.dynamic), ind + 1)
        if node.optional is not None:
            self.retry(ind)  # everything after it is unreachable
            return
        rest = node.catchall if node.catchall is not None else node.optcatch
        if rest is not None:
            self.line(ind, f"r = parts[{i}:]")
            self.line(ind, 'if "" not in r:')  # `//`: an empty part is never a value
            self.leaf(rest, i, ind + 1, have, rest=True)

    def retry(self, ind: int) -> None:
        self.line(ind, f"return {self.slow}(path)" if self.slow else "return _RETRY")

    def statics(self, node: NodeLike, i: int, ind: int, have: frozenset[int]) -> None:
        children = node.static
        if "" in children:  # NOTE: route ids drop empty segments; should one come, skip it
            children = {name: child for name, child in children.items() if name}
            if not children:
                return
        if len(children) <= INLINE_STATIC and self.budget >= len(children):
            first = True
            for name, child in children.items():
                self.line(ind, f"{'if' if first else 'elif'} s{i} == {self.const(name)}:")
                first = False
                if self.budget > 0:
                    self.node(child, i + 1, ind + 1, have)
                else:
                    self.call(self.const(child), ind + 1)
            return
        # PERF: one dict lookup however many children; the child's code is its own function.
        self.line(ind, f"c = {self.const(node.static)}.get(s{i})")
        if children is not node.static:
            self.line(ind, f"if not s{i}:")
            self.line(ind + 1, "c = None")
        self.line(ind, "if c is not None:")
        self.call("c", ind + 1)

    def call(self, child: str, ind: int) -> None:
        """Match below ``child`` (an expression naming a node) by that node's own function."""
        if child != "c":
            self.line(ind, f"c = {child}")
        self.line(ind, "f = c.fn")
        self.line(ind, "if f is None:")
        self.line(ind + 1, "f = _build(c)")
        self.line(ind, "m = f(parts, n, c.k)")
        self.line(ind, "if m is not None:")
        self.line(ind + 1, f"return {self.slow}(path) if m is _RETRY else m" if self.slow else "return m")

    def leaf(self, route: Route, i: int, ind: int, have: frozenset[int], rest: bool) -> None:
        """Return the match of ``route``; ``rest``: its catch-all takes ``parts[i:]`` (else the
        path ended at ``i`` and an optional catch-all there is absent)."""
        items = []
        for k, seg in enumerate(route.segments):
            kind = seg.kind
            if kind is Kind.STATIC:
                continue
            at = k + 1  # the part of segment k (parts[0] is the "" before the leading slash)
            if kind is Kind.DYNAMIC or kind is Kind.OPTIONAL:
                value = f"s{at}" if at in have else f"parts[{at}]"
            elif rest:
                value = "r"  # parts[at:], the catch-all's parts
            else:
                continue  # an optional catch-all that took nothing is absent
            items.append(f"{self.const(seg.name)}: {value}")
        self.line(ind, "m = _Made()")
        self.line(ind, f"m.route = {self.const(route.id)}")
        self.line(ind, "m.params = {" + ", ".join(items) + "}")
        self.line(ind, f"m.spec = {self.const(route)}")
        self.line(ind, "return m")

    def source(self, name: str, params: str) -> str:
        if not self.shared:
            params = ", ".join([params, *(f"_k{j}" for j in range(len(self.consts)))])
        return "\n".join([f"def {name}({params}):", *self.lines, "    return None", ""])

    def function(self, name: str, params: str) -> tuple[str, Any]:
        source = self.source(name, params)
        code = _CODE.get(source)
        if code is None:
            code = _compile(source, name)
        if self.shared:
            fn = _SHARED.get(source)
            if fn is None:
                fn = _SHARED[source] = FunctionType(code, _GLOBALS, name)
            return source, fn
        return source, FunctionType(code, _GLOBALS, name, tuple(self.consts))


def _compile(source: str, name: str) -> CodeType:
    namespace: dict[str, Any] = {}
    try:
        exec(compile(source, f"<devserver matcher: {name}>", "exec"), _GLOBALS, namespace)
    except (SyntaxError, RecursionError, MemoryError) as exc:
        raise RuntimeError(f"the generated matcher does not compile ({exc}):\n{source}") from exc
    code: CodeType = namespace[name].__code__
    if len(_CODE) >= _CODE_CACHE_MAX:
        _CODE.clear()
        _SHARED.clear()
    _CODE[source] = code
    return code


def _node_emitter(node: NodeLike) -> _Emitter:
    em = _Emitter(shared=True)
    em.node(node, node.depth, 1, frozenset())
    return em


def build(node: NodeLike) -> Callable[[list[str], int, tuple[object, ...]], Any]:
    """The function matching below ``node`` (kept on the node with its values, ``node.k``):
    ``f(parts, n, node.k)`` gives a match, ``RETRY`` (only the walk can tell) or None (no route
    below ``node`` matches).

    PERF: nodes of one shape share one function; only the tuple of values is the node's own. At
    10,000 routes a request reaches a node no other recent request did, and the fewer objects
    it touches there, the fewer cache misses (a function per node, with its values as defaults,
    touched each value on every call)."""
    em = _node_emitter(node)
    _source, fn = em.function("_node", "parts, n, K")
    node.k = tuple(em.consts)
    node.fn = fn  # NOTE: after k: another thread that sees fn must see its k
    return fn  # type: ignore[no-any-return]


def node_source(node: NodeLike) -> str:
    """The source of ``build(node)``, to read."""
    return _node_emitter(node).source("_node", "parts, n, K")


def _top_emitter(root: NodeLike, fallback: bool) -> _Emitter:
    em = _Emitter(shared=False)
    sget, em.slow = em.const(None), em.const(None)  # filled in by top_function
    slow = em.slow
    for text in (
        f"route = {sget}(path)",
        "if route is not None:",  # PERF: a whole static path is one dict lookup
        "    m = _Made()",
        "    m.route = route.id",
        "    m.params = {}",
        "    m.spec = route",
        "    return m",
        # NOTE: a path to decode, or with a query, is matched by the walk (its parts are not
        # the raw text), and so is one with a trailing slash or without a leading one. Below,
        # an empty part (`//`) can only fail to match: it is never a value, nor static text.
        'if "%" in path or "?" in path or "#" in path:',
        f"    return {slow}(path)",
        'parts = path.split("/")',
        "if parts[0] or not parts[-1]:",
        f"    return {slow}(path)",
        "n = len(parts)",
    ):
        em.line(1, text)
    em.node(root, 1, 1, frozenset(), more_parts=True)  # parts[1] is not "" (so n > 1)
    if fallback:
        em.line(1, f"return {slow}(path)")  # routes matched apart (matcher._fallback)
    return em


def top_function(root: NodeLike, static: Mapping[str, Any], slow: Callable[[str], Any],
                 fallback: bool) -> tuple[str, Callable[[str], Any]]:
    """The matcher's ``match(path)``: the static fast path, the checks that send a path to the
    walk (``slow``), and the code of the root node; ``fallback``: there are routes to try last.
    Returns the source too."""
    em = _top_emitter(root, fallback)
    em.consts[0], em.consts[1] = static.get, slow
    return em.function("match", "path")


_GLOBALS: dict[str, Any] = {"__builtins__": builtins, "_RETRY": RETRY, "_build": build,
                            "_Made": _Made}
