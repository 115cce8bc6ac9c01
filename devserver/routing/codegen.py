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
more than ``INLINE_TREE`` static children, is split: the rest is a dict lookup and a call to
the child's own function. Up to ``INLINE_STATIC`` static children are compared one by one; up to
``INLINE_TREE``, a dict gives the child's index and a few int compares its inlined code (so a
small table's whole ``match`` is one function, without a call per request). Code reached by
static parts only leaves out the routes ending there: such a path is the static fast path's.
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
# Up to this many static children, a dict gives the child's index and int compares reach its
# inlined code (if the budget allows); beyond, a dict gives the child node, whose function is called.
INLINE_TREE = 16
_CODE_CACHE_MAX = 4096
_TOP_DEFAULTS = 2  # the top function's values passed as defaults of their own (_k0, _k1)


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
        j = len(self.consts) - 1
        if self.shared:
            return f"K[{j}]"
        # PERF: every default is copied into the frame on each call; the top function has two
        # (the static lookup and the walk, read by every request) and the rest in one tuple.
        return f"_k{j}" if j < _TOP_DEFAULTS else f"K[{j - _TOP_DEFAULTS}]"

    def line(self, ind: int, text: str) -> None:
        self.lines.append("    " * ind + text)

    def node(self, node: NodeLike, i: int, ind: int, have: frozenset[int], plain: bool,
             more_parts: bool = False) -> None:
        """Code that matches ``parts[i:]`` below ``node``: returns on success, falls through if
        no route under ``node`` matches. ``have``: the indexes whose part is in a local ``s<i>``;
        ``plain``: every part before ``i`` matched static text; ``more_parts``: ``n > i`` is
        known."""
        self.budget -= 1
        # PERF: a path of static parts that ends at a route is a key of the static fast path,
        # which has already missed (or, for a name read differently raw, sent the path to the
        # walk): such a path cannot end here (`_live`).
        end = not more_parts and not (plain and node.end is not None) and (
            node.end is not None or node.optional is not None or node.optcatch is not None)
        kids = node.static
        if plain and len(kids) <= INLINE_TREE:
            # Children inlined are there only if something below them can match.
            kids = {name: child for name, child in kids.items() if _live(child)}
        more = (bool(kids) or node.dynamic is not None or node.optional is not None
                or node.catchall is not None or node.optcatch is not None)
        dyn = node.dynamic
        if (not end and not more_parts and not kids and dyn is not None and self.budget > 0
                and node.optional is None and node.catchall is None and node.optcatch is None
                and dyn.end is not None and not dyn.static and dyn.dynamic is None
                and dyn.optional is None and dyn.catchall is None and dyn.optcatch is None):
            # PERF: only a value ending the path can match here: one length check, not two.
            self.budget -= 1
            self.line(ind, f"if n == {i + 1}:")
            self.line(ind + 1, f"s{i} = parts[{i}]")
            self.line(ind + 1, f"if s{i}:")  # `//`: an empty part is never a value
            self.leaf(dyn.end, i + 1, ind + 2, have | {i}, rest=False)
            return
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
        if kids or node.dynamic is not None:
            self.line(ind, f"s{i} = parts[{i}]")
            have = have | {i}
        if kids:
            self.statics(node, kids, i, ind, have, plain)
        if node.dynamic is not None:
            self.line(ind, f"if s{i}:")  # `//`: an empty part is never a value
            if self.budget > 0:
                self.node(node.dynamic, i + 1, ind + 1, have, False)
            else:
                self.call(self.const(node.dynamic), ind + 1, False)
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

    def statics(self, node: NodeLike, children: dict[str, Any], i: int, ind: int,
                have: frozenset[int], plain: bool) -> None:
        """``children``: the node's static children, or those of them that can match."""
        if "" in children:  # NOTE: route ids drop empty segments; should one come, skip it
            children = {name: child for name, child in children.items() if name}
            if not children:
                return
        if len(children) <= INLINE_STATIC and self.budget >= len(children):
            first = True
            for name, child in children.items():
                self.line(ind, f"{'if' if first else 'elif'} s{i} == {self.const(name)}:")
                first = False
                size = len(self.lines)
                self.child(child, i, ind + 1, have, plain)
                if len(self.lines) == size:
                    self.line(ind + 1, "pass")
            return
        if len(children) <= INLINE_TREE and self.budget >= len(children):
            # PERF: one dict lookup gives the child's index, and a few int compares (a binary
            # tree of `if x < j`) reach its inlined code: no call, and a miss costs the lookup.
            index = {name: j for j, name in enumerate(children)}
            self.line(ind, f"x = {self.const(index.get)}(s{i})")
            self.line(ind, "if x is not None:")
            self.tree(list(children.values()), 0, i, ind + 1, have, plain)
            return
        # PERF: one dict lookup however many children; the child's code is its own function.
        self.line(ind, f"c = {self.const(node.static)}.get(s{i})")
        if "" in node.static:
            self.line(ind, f"if not s{i}:")
            self.line(ind + 1, "c = None")
        self.line(ind, "if c is not None:")
        self.call("c", ind + 1, plain)

    def child(self, child: NodeLike, i: int, ind: int, have: frozenset[int],
              plain: bool) -> None:
        """Code for the static child ``child`` (its part ``s<i>`` already compared equal)."""
        if self.budget > 0:
            self.node(child, i + 1, ind, have, plain)
        else:
            self.call(self.const(child), ind, plain)

    def tree(self, kids: list[NodeLike], lo: int, i: int, ind: int,
             have: frozenset[int], plain: bool) -> None:
        """The code of ``kids`` (static children ``lo``... by index), reached by comparing the
        child's index ``x`` (known to be one of them) with the middle one."""
        if len(kids) == 1:
            size = len(self.lines)
            self.child(kids[0], i, ind, have, plain)
            if len(self.lines) == size:
                self.line(ind, "pass")
            return
        mid = len(kids) // 2
        self.line(ind, f"if x < {lo + mid}:")
        self.tree(kids[:mid], lo, i, ind + 1, have, plain)
        self.line(ind, "else:")
        self.tree(kids[mid:], lo + mid, i, ind + 1, have, plain)

    def call(self, child: str, ind: int, plain: bool) -> None:
        """Match below ``child`` (an expression naming a node) by that node's own function
        (``plain``: reached by static parts only, see ``node``)."""
        if child != "c":
            self.line(ind, f"c = {child}")
        self.line(ind, "f = c.fn")
        self.line(ind, "if f is None:")
        self.line(ind + 1, "f = _build(c, True)" if plain else "f = _build(c)")
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
            params = ", ".join([params, *(f"_k{j}" for j in range(_TOP_DEFAULTS)), "K"])
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
        defaults = (*self.consts[:_TOP_DEFAULTS], tuple(self.consts[_TOP_DEFAULTS:]))
        return source, FunctionType(code, _GLOBALS, name, defaults)


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


def _live(node: NodeLike) -> bool:
    """Whether a path of static parts only that reaches ``node`` can match below it in the
    generated code (a route ending at a node reached so is the static fast path's).

    PERF: looks at no more than ``_LIVE_LOOKS`` nodes, and past that says yes (code that can
    only fall through is still right): a wide static subtree is not walked on every build."""
    todo = [node]
    for _ in range(_LIVE_LOOKS):
        if not todo:
            return False
        node = todo.pop()
        if (node.dynamic is not None or node.optional is not None or node.catchall is not None
                or node.optcatch is not None):
            return True
        todo.extend(child for name, child in node.static.items() if name)
    return True


_LIVE_LOOKS = 64


def _node_emitter(node: NodeLike, plain: bool) -> _Emitter:
    em = _Emitter(shared=True)
    em.node(node, node.depth, 1, frozenset(), plain)
    return em


def build(node: NodeLike, plain: bool = False) -> Callable[[list[str], int, tuple[object, ...]], Any]:
    """The function matching below ``node`` (kept on the node with its values, ``node.k``):
    ``f(parts, n, node.k)`` gives a match, ``RETRY`` (only the walk can tell) or None (no route
    below ``node`` matches). ``plain``: ``node`` is reached by static parts only (which is so of
    every path to it, and its code may leave out what the static fast path matches).

    PERF: nodes of one shape share one function; only the tuple of values is the node's own. At
    10,000 routes a request reaches a node no other recent request did, and the fewer objects
    it touches there, the fewer cache misses (a function per node, with its values as defaults,
    touched each value on every call)."""
    em = _node_emitter(node, plain)
    _source, fn = em.function("_node", "parts, n, K")
    node.k = tuple(em.consts)
    node.fn = fn  # NOTE: after k: another thread that sees fn must see its k
    return fn  # type: ignore[no-any-return]


def node_source(node: NodeLike, plain: bool = False) -> str:
    """The source of ``build(node, plain)``, to read."""
    return _node_emitter(node, plain).source("_node", "parts, n, K")


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
    em.node(root, 1, 1, frozenset(), True, more_parts=True)  # parts[1] is not "" (so n > 1)
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
