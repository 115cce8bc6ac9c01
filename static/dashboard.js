// devserver's route dashboard (/__routes): the live route table and the URL tester.
// Vanilla JS, no build step. Every piece of data is put into the page with textContent or
// setAttribute, never innerHTML: route files are named by whoever wrote the project.
(function () {
  "use strict";

  const MARK_MS = 6000; // how long added / changed / removed rows stay marked
  const STATUSES = [
    ["all", "All"], ["ok", "OK"], ["warning", "Warnings"], ["conflict", "Conflicts"], ["broken", "Broken"],
  ];
  const STATUS_LABELS = { ok: "OK", warning: "Warning", conflict: "Conflict", broken: "Broken" };
  const SEVERITY_LABELS = { error: "Error:", warning: "Warning:", note: "Note:" };
  const PHRASES = {
    200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found",
    303: "See Other", 304: "Not Modified", 307: "Temporary Redirect", 308: "Permanent Redirect",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 413: "Content Too Large",
    422: "Unprocessable Content", 500: "Internal Server Error",
  };
  const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
  const WITH_BODY = ["POST", "PUT", "PATCH", "DELETE"];

  const $ = (selector) => document.querySelector(selector);
  const view = {
    table: $("#routes"), empty: $("#empty"), count: $("#route-count"), chips: $("#status-filter"),
    filter: $("#filter"), alerts: $("#alerts"), banner: $("#banner"), conn: $("#conn"),
    form: $("#tester"), method: $("#t-method"), path: $("#t-path"), preset: $("#t-accept-preset"),
    accept: $("#t-accept"), acceptWrap: $("#t-accept-wrap"), body: $("#t-body"),
    bodyWrap: $("#t-body-wrap"), send: $("#t-send"), result: $("#t-result"),
    response: $("#t-response"), matchLink: $("#match-link"),
  };

  let data = JSON.parse($("#dashboard-data").textContent);
  const marks = new Map(); // route id -> {kind: "added" | "changed", until}
  let ghosts = []; // removed rows, shown struck through for a while: {row, until}
  let statusFilter = "all";
  let winner = null; // the tester's winning route id, highlighted in the table
  let lastReload = data.last_reload;
  let explainSeq = 0;
  let sendSeq = 0;
  let debounce = 0;

  // ---- small DOM helpers --------------------------------------------------------------------

  function h(tag, props) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = String(value);
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (let i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }

  function append(el, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach((c) => append(el, c)); return; }
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }

  // Links from the server are editor URLs (vscode://...); never follow a script-capable scheme.
  function safeHref(url) {
    if (typeof url !== "string") return null;
    const scheme = (url.match(/^([a-z][a-z0-9+.-]*):/i) || [])[1];
    if (!scheme || ["javascript", "data", "vbscript", "blob"].includes(scheme.toLowerCase())) return null;
    return url;
  }

  function fileLink(file, link, line, cls) {
    const href = safeHref(link);
    const label = [pathView(file), line ? h("span", { class: "line", text: ":" + line }) : null];
    if (!href) return h("span", { class: cls }, label);
    return h("a", { class: cls + " editor", href, title: "Open " + file + (line ? " at line " + line : "") + " in your editor" }, label);
  }

  // A file path that may wrap after any slash, never inside a name.
  function pathView(file) {
    const span = h("span", { class: "path" });
    String(file).split("/").forEach((part, i, parts) => {
      span.append(part + (i < parts.length - 1 ? "/" : ""));
      if (i < parts.length - 1) span.append(h("wbr"));
    });
    return span;
  }

  // Messages quote route text in backticks (static `docs` ≠ `users`): show those parts as code.
  function rich(text) {
    return String(text).split("`").map((part, i) => (i % 2 ? h("code", { text: part }) : part));
  }

  function ago(seconds) {
    const s = Math.max(0, Math.round(Date.now() / 1000 - seconds));
    if (s < 5) return "just now";
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    return new Date(seconds * 1000).toLocaleTimeString();
  }

  // ---- the route table ----------------------------------------------------------------------

  function visibleMethods(row) {
    return row.methods.filter((m) => m !== "HEAD" && m !== "OPTIONS");
  }

  function searchText(row) {
    const parts = [row.pattern, row.id, row.api_file, row.page_file, row.status, row.shape,
      visibleMethods(row).join(" "), row.params.map((p) => p.name + " " + p.kind).join(" "),
      row.problems.map((p) => p.message).join(" "), row.error ? row.error.message : ""];
    return parts.filter(Boolean).join("\n").toLowerCase();
  }

  function passes(row) {
    if (statusFilter !== "all" && row.status !== statusFilter) return false;
    const words = view.filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const text = searchText(row);
    return words.every((w) => text.includes(w));
  }

  function patternView(row) {
    const code = h("code", { class: "pattern" });
    if (!row.segments.length) code.append(h("span", { class: "seg seg-static", text: "/" }));
    for (const seg of row.segments) {
      code.append(h("span", { class: "slash", text: "/" }));
      code.append(h("span", { class: "seg seg-" + seg.kind.replace(/ /g, "-"), title: seg.kind, text: seg.text }));
    }
    return code;
  }

  function samplePath(row) {
    const parts = row.segments.map((s) => (s.kind === "static" ? s.text : s.text.replace(/^\$+|[[\].]/g, "") || "x"));
    return "/" + parts.join("/");
  }

  function methodChips(row) {
    const chips = visibleMethods(row).map((method) => {
      const handler = row.handlers.find((x) => x.method === method) || row.handlers.find((x) => x.method === "*");
      const cls = "method m-" + method.toLowerCase();
      if (handler && safeHref(handler.link)) {
        return h("a", { class: cls + " editor", href: handler.link,
          title: handler.name + "() at line " + handler.line + " of " + row.api_file + ": open in your editor" }, method);
      }
      const title = handler ? handler.name + "()" : method === "GET" ? "served by the page template" : null;
      return h("span", { class: cls, title }, method);
    });
    return chips.length ? chips : h("span", { class: "muted", text: "—" });
  }

  function paramsView(row) {
    if (!row.params.length) return h("span", { class: "muted", text: "—" });
    return h("ul", { class: "params" }, row.params.map((p) =>
      h("li", null, h("code", { text: p.name }), h("span", { class: "kind kind-" + p.kind.replace(/ /g, "-"), text: p.kind }))));
  }

  function filesView(row) {
    const out = [];
    if (row.api_file) {
      const first = row.handlers.length ? Math.min(...row.handlers.map((x) => x.line || Infinity)) : null;
      out.push(h("div", { class: "file" }, h("span", { class: "ftag api", text: "API" }),
        fileLink(row.api_file, row.links.api, isFinite(first) ? first : null, "f")));
    }
    if (row.page_file) {
      out.push(h("div", { class: "file" }, h("span", { class: "ftag page", text: "page" }),
        fileLink(row.page_file, row.links.page, null, "f")));
    }
    return out;
  }

  function detailsView(row) {
    const items = [];
    if (row.error) {
      const e = row.error;
      // The message starts with "file:line: "; the editor link says that already.
      const where = e.file + (e.line ? ":" + e.line : "") + ": ";
      const text = e.message.startsWith(where) ? e.message.slice(where.length) : e.message;
      items.push(h("li", { class: "msg msg-error" }, h("strong", { text: "Broken module " }),
        fileLink(e.file, row.links.error, e.line, "at"), h("span", { class: "sep", text: " — " }),
        h("span", { class: "msg-text" }, rich(text))));
    }
    for (const p of row.problems) {
      items.push(h("li", { class: "msg msg-" + p.severity }, h("strong", { text: SEVERITY_LABELS[p.severity] || p.severity }),
        " ", h("span", { class: "msg-text" }, rich(p.message)), h("span", { class: "rule", text: p.rule })));
    }
    return items;
  }

  function routeBody(row, mark) {
    const kind = mark ? mark.kind : null;
    const body = h("tbody", { class: "route st-" + row.status + (kind ? " is-" + kind : "") + (row.id === winner ? " is-winner" : ""),
      "data-id": row.id, "data-status": row.status });
    const tag = kind ? h("span", { class: "mark mark-" + kind, text: kind }) : null;
    const tryIt = kind === "removed" ? null : h("button", { type: "button", class: "try", title: "Try it in the URL tester",
      "aria-label": "Try " + row.pattern + " in the URL tester", onclick: () => loadTester(samplePath(row)) }, "▸");
    body.append(h("tr", { class: "main" },
      h("td", { class: "c-rank", "data-label": "#", text: row.rank }),
      h("td", { class: "c-pattern", "data-label": "Pattern" }, h("div", { class: "pat" }, patternView(row), tag, tryIt)),
      h("td", { class: "c-methods", "data-label": "Methods" }, h("div", { class: "methods" }, methodChips(row))),
      h("td", { class: "c-params" + (row.params.length ? "" : " none"), "data-label": "Params" }, paramsView(row)),
      h("td", { class: "c-files", "data-label": "Files" }, filesView(row)),
      h("td", { class: "c-status", "data-label": "Status" }, h("span", { class: "badge b-" + row.status, text: STATUS_LABELS[row.status] || row.status }))));
    const details = detailsView(row);
    if (details.length) body.append(h("tr", { class: "detail" }, h("td", { colspan: 6 }, h("ul", { class: "msgs" }, details))));
    return body;
  }

  function renderChips() {
    const counts = { all: data.routes.length, ok: 0, warning: 0, conflict: 0, broken: 0 };
    data.routes.forEach((r) => { counts[r.status] = (counts[r.status] || 0) + 1; });
    view.chips.replaceChildren(...STATUSES.map(([key, label]) => h("button", {
      type: "button", class: "chip c-" + key + (counts[key] ? "" : " zero"), "aria-pressed": String(statusFilter === key),
      "data-status": key, onclick: () => { statusFilter = statusFilter === key && key !== "all" ? "all" : key; syncUrl(); render(); },
    }, label, " ", h("span", { class: "n", text: counts[key] }))));
    view.count.textContent = data.routes.length ? String(data.routes.length) : "";
    const bad = counts.conflict + counts.broken;
    document.title = (bad ? "(" + bad + " ✕) " : "") + "Routes · " + data.project.name + " · devserver";
  }

  function renderAlerts() {
    const alerts = [];
    if (data.preflight_error) {
      const e = data.preflight_error;
      alerts.push(h("div", { class: "alert alert-error", role: "alert" }, h("strong", { text: "app/preflight.py failed: " }),
        h("span", { text: e.message }), " ", fileLink(e.file, e.link, e.line, "at"),
        h("div", { class: "muted", text: "Every page answers 500 until it is fixed." })));
    }
    for (const w of data.warnings) alerts.push(h("div", { class: "alert alert-warning" }, h("strong", { text: "discovery: " }), w));
    view.alerts.replaceChildren(...alerts);
  }

  function render() {
    renderChips();
    renderAlerts();
    const now = Date.now();
    ghosts = ghosts.filter((g) => g.until > now);
    const rows = data.routes.map((r) => ({ row: r, mark: marks.get(r.id), at: r.rank }));
    for (const g of ghosts) rows.push({ row: g.row, mark: { kind: "removed" }, at: g.row.rank - 0.5 });
    rows.sort((a, b) => a.at - b.at);
    view.table.querySelectorAll("tbody").forEach((tb) => tb.remove());
    let shown = 0;
    for (const item of rows) {
      const mark = item.mark && (item.mark.kind === "removed" || item.mark.until > now) ? item.mark : null;
      if (!passes(item.row)) continue;
      view.table.append(routeBody(item.row, mark));
      shown += 1;
    }
    view.table.closest(".table-wrap").hidden = !data.routes.length;
    view.empty.hidden = shown > 0;
    view.empty.replaceChildren();
    if (!data.routes.length) {
      view.empty.append("No routes yet. Add a module under ", h("code", { text: "app/api/" }),
        " or a template under ", h("code", { text: "app/pages/" }), "; it appears here as soon as it is saved.");
    } else if (!shown) {
      view.empty.append("No route matches this filter. ",
        h("button", { type: "button", class: "linkish", onclick: clearFilter, text: "Show all routes" }));
    }
  }

  function clearFilter() {
    view.filter.value = "";
    statusFilter = "all";
    syncUrl();
    render();
  }

  // ---- live updates -------------------------------------------------------------------------

  function signature(row) {
    const copy = Object.assign({}, row);
    delete copy.rank; // a new route above shifts every rank below it: not a change of those routes
    return JSON.stringify(copy);
  }

  function applyData(next) {
    const before = new Map(data.routes.map((r) => [r.id, r]));
    const after = new Set(next.routes.map((r) => r.id));
    const until = Date.now() + MARK_MS;
    for (const row of next.routes) {
      const old = before.get(row.id);
      if (!old) marks.set(row.id, { kind: "added", until });
      else if (signature(old) !== signature(row)) marks.set(row.id, { kind: "changed", until });
    }
    for (const [id, row] of before) if (!after.has(id)) ghosts.push({ row, until });
    data = next;
    render();
    setTimeout(expireMarks, MARK_MS + 50);
  }

  function expireMarks() {
    const now = Date.now();
    for (const [id, mark] of marks) if (mark.until <= now) marks.delete(id);
    render();
  }

  async function refresh() {
    try {
      const res = await fetch("/__routes.json", { cache: "no-store", headers: { Accept: "application/json" } });
      if (!res.ok) throw new Error(res.status + " " + res.statusText);
      applyData(await res.json());
      if (view.path.value.trim()) explain();
    } catch (err) {
      setConn("error", "could not refresh: " + err.message);
    }
  }

  function setConn(state, label) {
    view.conn.dataset.state = state;
    view.conn.querySelector(".conn-label").textContent = label;
  }

  function renderBanner() {
    const r = lastReload;
    if (!r) { view.banner.hidden = true; return; }
    const errors = r.errors || [];
    const title = r.mode === "restart" ? "Restarted" : r.mode === "css" ? "Stylesheet swapped" : "Reloaded in place";
    const what = [];
    if (r.changed && r.changed.length) what.push(h("span", null, "changed ", list(r.changed)));
    if (r.reloaded && r.reloaded.length) what.push(h("span", null, "reloaded ", list(r.reloaded)));
    view.banner.className = "banner mode-" + String(r.mode).replace(/ /g, "-") + (errors.length ? " has-errors" : "");
    view.banner.replaceChildren(
      h("span", { class: "b-icon", "aria-hidden": "true", text: errors.length ? "!" : "↻" }),
      h("div", { class: "b-main" },
        h("div", { class: "b-title" }, h("strong", { text: title }),
          h("span", { class: "b-meta" }, " · " + r.reason + " · " + Number(r.duration_ms).toFixed(1) + " ms · ",
            h("time", { class: "b-ago", "data-at": r.at, text: ago(r.at) }))),
        what.length ? h("div", { class: "b-what" }, what) : null,
        errors.length ? h("ul", { class: "b-errors" }, errors.map((e) => h("li", { text: e }))) : null),
      h("button", { type: "button", class: "b-close", "aria-label": "Dismiss the reload banner",
        onclick: () => { view.banner.hidden = true; }, text: "×" }));
    view.banner.hidden = false;
  }

  function list(items, max) {
    const out = [];
    const shown = items.length > (max || 5) ? items.slice(0, (max || 5) - 1) : items;
    shown.forEach((item, i) => { if (i) out.push(", "); out.push(h("code", { text: item })); });
    if (shown.length < items.length) {
      out.push(h("span", { class: "more", title: items.slice(shown.length).join("\n"), text: " and " + (items.length - shown.length) + " more" }));
    }
    return out;
  }

  function connect(delay) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let ws;
    try { ws = new WebSocket(scheme + "//" + location.host + "/__devserver/ws"); } catch (e) { return retry(); }
    let open = false;
    ws.addEventListener("open", () => {
      open = true;
      if (data.project.reload === false) setConn("live", "connected · --no-reload");
      else setConn("live", "live");
      // NOTE: a reload between rendering this page (or a restart) and this moment was broadcast
      // to nobody: fetch the table once per connection so the page never shows a stale one.
      refresh();
    });
    ws.addEventListener("message", (event) => {
      let msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (msg.type !== "reload") return;
      lastReload = msg;
      renderBanner();
      view.banner.classList.add("flash");
      setTimeout(() => view.banner.classList.remove("flash"), 1200);
      refresh();
    });
    ws.addEventListener("close", () => retry(open));
    function retry(wasOpen) {
      setConn("reconnecting", "reconnecting…");
      const next = wasOpen ? 150 : Math.min((delay || 150) * 2, 3000);
      setTimeout(() => connect(next), next);
    }
  }

  // ---- the URL tester ------------------------------------------------------------------------

  function acceptValue() {
    return view.preset.value === "custom" ? view.accept.value.trim() : view.preset.value;
  }

  function setAccept(value) {
    const preset = Array.from(view.preset.options).find((o) => o.value === value && o.value !== "custom");
    view.preset.value = preset ? preset.value : "custom";
    view.accept.value = value;
    view.acceptWrap.hidden = view.preset.value !== "custom";
  }

  function testerPath() {
    const raw = view.path.value.trim();
    if (!raw) return "";
    return raw.startsWith("/") ? raw : "/" + raw;
  }

  function syncUrl() {
    const q = new URLSearchParams();
    const path = testerPath();
    if (view.method.value !== "GET") q.set("method", view.method.value);
    if (path) q.set("path", path);
    if (acceptValue() !== BROWSER_ACCEPT) q.set("accept", acceptValue());
    if (view.filter.value.trim()) q.set("q", view.filter.value.trim());
    if (statusFilter !== "all") q.set("status", statusFilter);
    const search = q.toString();
    history.replaceState(null, "", location.pathname + (search ? "?" + search : ""));
  }

  function readUrl() {
    const q = new URLSearchParams(location.search);
    const method = (q.get("method") || "GET").toUpperCase();
    if (Array.from(view.method.options).some((o) => o.value === method)) view.method.value = method;
    view.path.value = q.get("path") || "";
    setAccept(q.has("accept") ? q.get("accept") : BROWSER_ACCEPT);
    view.filter.value = q.get("q") || "";
    const status = q.get("status");
    if (STATUSES.some(([key]) => key === status)) statusFilter = status;
    view.bodyWrap.hidden = !WITH_BODY.includes(view.method.value);
  }

  function matchUrl() {
    const q = new URLSearchParams({ method: view.method.value, path: testerPath() });
    const accept = acceptValue();
    if (accept) q.set("accept", accept);
    return "/__routes/match?" + q.toString();
  }

  function loadTester(path) {
    view.path.value = path;
    view.path.focus();
    view.path.setSelectionRange(path.length, path.length);
    changed(true);
    view.path.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  function changed(now) {
    view.bodyWrap.hidden = !WITH_BODY.includes(view.method.value);
    syncUrl();
    clearTimeout(debounce);
    if (now) explain();
    else debounce = setTimeout(() => explain(), 120);
  }

  async function explain() {
    const path = testerPath();
    const seq = ++explainSeq;
    view.matchLink.setAttribute("href", path ? matchUrl() : "/__routes/match?path=/");
    if (!path) { view.result.replaceChildren(); setWinner(null); return; }
    try {
      const res = await fetch(matchUrl(), { cache: "no-store", headers: { Accept: "application/json" } });
      const body = await res.json();
      if (seq !== explainSeq) return;
      if (!res.ok) { view.result.replaceChildren(h("p", { class: "alert alert-error", text: body.error ? body.error.message : res.statusText })); return; }
      renderExplanation(body);
    } catch (err) {
      if (seq === explainSeq) view.result.replaceChildren(h("p", { class: "alert alert-error", text: "could not explain: " + err.message }));
    }
  }

  function statusClass(code) { return "s" + String(code).charAt(0) + "xx"; }

  function valueText(v) { return Array.isArray(v) ? JSON.stringify(v) : JSON.stringify(String(v)); }

  function renderExplanation(ex) {
    setWinner(ex.winner);
    const rep = ex.representation;
    const row = ex.route;
    const kinds = new Map((row ? row.params : []).map((p) => [p.name, p.kind]));
    const facts = h("dl", { class: "facts" });
    function fact(label, ...value) { facts.append(h("div", { class: "fact" }, h("dt", { text: label }), h("dd", null, value))); }
    if (row) {
      fact("Winner", h("div", { class: "winner-line" }, patternView(row), h("span", { class: "rank-pill", text: "#" + row.rank }),
        row.status !== "ok" ? h("span", { class: "badge b-" + row.status, text: STATUS_LABELS[row.status] || row.status }) : null),
        h("div", { class: "files" }, filesView(row)));
      const names = Object.keys(ex.params);
      fact("Params", names.length ? h("ul", { class: "params values" }, names.map((n) => h("li", null,
        h("code", { text: n }), h("span", { class: "eq", text: "=" }), h("code", { class: "val", text: valueText(ex.params[n]) }),
        kinds.has(n) ? h("span", { class: "kind kind-" + kinds.get(n).replace(/ /g, "-"), text: kinds.get(n) }) : null)))
        : h("span", { class: "muted", text: "none" }));
    }
    fact("Answers with", h("div", { class: "rep rep-" + rep.kind + " " + statusClass(rep.status) },
      h("span", { class: "rep-kind", text: repLabel(rep) }), h("span", { class: "rep-summary" }, rich(rep.summary))));
    if (ex.allowed && ex.allowed.length) fact("Allowed", ex.allowed.join(", "));
    const head = h("div", { class: "verdict" },
      h("span", { class: "code " + statusClass(ex.status), text: ex.status }),
      h("div", { class: "v-text" }, h("div", { class: "v-summary", id: "t-summary" }, rich(ex.summary)),
        h("div", { class: "v-req" }, h("code", { text: ex.method + " " + ex.path }),
          ex.accept ? h("span", { class: "muted", text: " · Accept: " + ex.accept }) : h("span", { class: "muted", text: " · no Accept header" }))));
    const parts = [head, facts];
    if (ex.suggestions && ex.suggestions.length) {
      parts.push(h("p", { class: "suggest" }, "Did you mean ", ex.suggestions.map((s, i) => [i ? ", " : "",
        h("button", { type: "button", class: "linkish", onclick: () => loadTester(s) }, h("code", { text: s }))]), "?"));
    }
    if (ex.candidates.length) {
      parts.push(h("h3", { text: "Every route, in precedence order" }));
      parts.push(h("ol", { class: "cands" }, ex.candidates.map((c) => h("li", { class: "cand o-" + c.outcome, "data-route": c.route },
        h("span", { class: "c-rank", text: "#" + c.rank }),
        h("code", { class: "c-pat", text: c.pattern }),
        h("span", { class: "outcome", text: outcomeLabel(c.outcome) }),
        h("span", { class: "reason" }, rich(c.reason))))));
    } else {
      parts.push(h("p", { class: "muted", text: "The app has no routes yet." }));
    }
    view.result.replaceChildren(...parts);
  }

  function repLabel(rep) {
    if (rep.kind === "page") return "HTML page";
    if (rep.kind === "json") return "JSON";
    if (rep.kind === "not-acceptable") return "406";
    if (rep.kind === "options") return "204 Allow";
    return rep.status + " error";
  }

  function outcomeLabel(outcome) {
    return { winner: "winner", outranked: "outranked", "no-match": "no match", invalid: "invalid", "wrong-method": "405" }[outcome] || outcome;
  }

  function setWinner(id) {
    winner = id;
    view.table.querySelectorAll("tbody.route").forEach((tb) => tb.classList.toggle("is-winner", tb.dataset.id === id));
  }

  // ---- Send: the real request ------------------------------------------------------------------

  function requestInit(method) {
    const headers = {};
    const accept = acceptValue();
    if (accept) headers.Accept = accept;
    const init = { method, headers, cache: "no-store", credentials: "same-origin", redirect: "follow" };
    const text = view.body.value.trim();
    if (text && WITH_BODY.includes(method)) {
      headers["Content-Type"] = /^[[{"]/.test(text) ? "application/json" : "application/x-www-form-urlencoded";
      init.body = text;
    }
    return init;
  }

  async function send() {
    const path = testerPath();
    if (!path) { view.path.focus(); return; }
    const url = new URL(path, location.origin);
    if (url.origin !== location.origin) { showSendError("only paths on this server can be sent"); return; }
    explain();
    const seq = ++sendSeq;
    const method = view.method.value;
    view.send.disabled = true;
    view.send.classList.add("busy");
    const started = performance.now();
    try {
      const res = await fetch(url.pathname + url.search, requestInit(method));
      const text = method === "HEAD" ? "" : await res.text();
      if (seq === sendSeq) renderResponse(method, path, res, text, performance.now() - started);
    } catch (err) {
      if (seq === sendSeq) showSendError(err.message);
    } finally {
      view.send.disabled = false;
      view.send.classList.remove("busy");
    }
  }

  function showSendError(message) {
    view.response.hidden = false;
    view.response.replaceChildren(h("p", { class: "alert alert-error", text: "Request failed: " + message }));
  }

  function size(n) { return n < 1024 ? n + " B" : (n / 1024).toFixed(1) + " kB"; }

  function renderResponse(method, path, res, text, ms) {
    const type = res.headers.get("content-type") || "";
    const phrase = res.statusText || PHRASES[res.status] || "";
    const meta = [Math.round(ms) + " ms", type.split(";")[0] || "no body", size(new Blob([text]).size)];
    const head = h("div", { class: "resp-head" },
      h("span", { class: "code " + statusClass(res.status), text: res.status }),
      h("strong", { class: "phrase", text: phrase }),
      h("code", { class: "resp-req", text: method + " " + path }),
      h("span", { class: "muted", text: meta.join(" · ") }));
    const note = res.redirected
      ? h("p", { class: "note" }, "Redirected; the browser followed it to ", h("code", { text: new URL(res.url).pathname + new URL(res.url).search }), ". This is the final response.")
      : null;
    const tabs = [];
    let json = null;
    if (/[/+]json\b/.test(type) && text) { try { json = JSON.parse(text); } catch (e) { json = null; } }
    if (/html/.test(type) && text) {
      tabs.push(["Preview", () => h("iframe", { class: "preview", sandbox: "", title: "Preview of the response (scripts disabled)",
        srcdoc: '<base href="' + res.url.replace(/"/g, "%22") + '">' + text })]);
      tabs.push(["Source", () => h("pre", { class: "code-view" }, h("code", { text }))]);
    } else if (json !== null) {
      tabs.push(["Body", () => h("pre", { class: "code-view json" }, jsonView(json))]);
    } else {
      tabs.push(["Body", () => text ? h("pre", { class: "code-view" }, h("code", { text })) : h("p", { class: "muted", text: "(empty body)" })]);
    }
    tabs.push(["Headers", () => headersView(res.headers)]);
    view.response.hidden = false;
    view.response.replaceChildren(...[head, note, tabView(tabs)].filter(Boolean));
  }

  function headersView(headers) {
    const rows = [];
    headers.forEach((value, name) => rows.push(h("tr", null, h("th", { scope: "row", text: name }), h("td", { text: value }))));
    return h("table", { class: "headers" }, h("tbody", null, rows));
  }

  function tabView(tabs) {
    const wrap = h("div", { class: "tabs" });
    const list = h("div", { class: "tablist", role: "tablist", "aria-label": "Response" });
    const panel = h("div", { class: "tabpanel", role: "tabpanel", tabindex: "0" });
    const buttons = tabs.map(([label, make], i) => h("button", {
      type: "button", role: "tab", class: "tab", id: "rtab-" + label.toLowerCase(), "aria-selected": String(i === 0),
      tabindex: i === 0 ? "0" : "-1", onclick: () => select(i),
      onkeydown: (e) => {
        const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
        if (step) { e.preventDefault(); const j = (i + step + tabs.length) % tabs.length; select(j); buttons[j].focus(); }
      },
    }, label));
    function select(i) {
      buttons.forEach((b, j) => { b.setAttribute("aria-selected", String(i === j)); b.tabIndex = i === j ? 0 : -1; });
      panel.setAttribute("aria-labelledby", buttons[i].id);
      panel.replaceChildren(tabs[i][1]());
    }
    list.append(...buttons);
    wrap.append(list, panel);
    select(0);
    return wrap;
  }

  function jsonView(value) {
    const text = JSON.stringify(value, null, 2);
    const code = h("code");
    const token = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
    let last = 0;
    let m;
    while ((m = token.exec(text))) {
      if (m.index > last) code.append(text.slice(last, m.index));
      if (m[1]) {
        code.append(h("span", { class: m[2] ? "j-key" : "j-str", text: m[1] }));
        if (m[2]) code.append(m[2]);
      } else if (m[3]) code.append(h("span", { class: "j-lit", text: m[3] }));
      else code.append(h("span", { class: "j-num", text: m[4] }));
      last = token.lastIndex;
    }
    code.append(text.slice(last));
    return code;
  }

  // ---- wiring --------------------------------------------------------------------------------

  view.form.addEventListener("submit", (e) => { e.preventDefault(); changed(true); });
  view.path.addEventListener("input", () => changed(false));
  view.method.addEventListener("change", () => changed(true));
  view.preset.addEventListener("change", () => {
    view.acceptWrap.hidden = view.preset.value !== "custom";
    if (view.preset.value === "custom") view.accept.focus();
    changed(true);
  });
  view.accept.addEventListener("input", () => changed(false));
  view.send.addEventListener("click", send);
  view.form.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); send(); }
  });
  view.filter.addEventListener("input", () => { syncUrl(); render(); });
  view.filter.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && view.filter.value) { e.preventDefault(); clearFilter(); }
  });
  document.addEventListener("keydown", (e) => {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) { e.preventDefault(); view.filter.focus(); view.filter.select(); }
  });
  setInterval(() => document.querySelectorAll("time.b-ago").forEach((t) => { t.textContent = ago(Number(t.dataset.at)); }), 10000);

  readUrl();
  render();
  renderBanner();
  if (testerPath()) explain();
  connect(150);
})();
