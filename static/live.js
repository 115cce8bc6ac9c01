// devserver's live-reload client, injected into every HTML page served in dev.
// One WebSocket at /__devserver/ws. A reload message that touches this page's route (or
// everything) reloads the page; a stylesheet change is swapped in place; after the server
// restarts, the client reconnects and then reloads, so the page shows the new code.
(function () {
  "use strict";
  if (window.__devserverLive) return;
  window.__devserverLive = true;
  const script = document.getElementById("devserver-live");
  let route = null;
  try { route = JSON.parse(script ? script.dataset.route : "null"); } catch (e) { route = null; }
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = scheme + "//" + location.host + "/__devserver/ws";
  let wasConnected = false;
  let delay = 100;

  function swapCss(paths) {
    const links = document.querySelectorAll('link[rel="stylesheet"]');
    let swapped = 0;
    links.forEach(function (link) {
      const href = new URL(link.href, location.href);
      if (href.origin !== location.origin) return;
      if (paths.length && !paths.includes(href.pathname)) return;
      const next = link.cloneNode();
      href.searchParams.set("devserver", String(Date.now()));
      next.href = href.pathname + href.search;
      next.addEventListener("load", function () { link.remove(); });
      link.after(next);
      swapped += 1;
    });
    return swapped;
  }

  function affects(msg) {
    if (msg.everything) return true;
    if (!msg.routes || !msg.routes.length) return false;
    return route === null || msg.routes.includes(route);
  }

  function onMessage(event) {
    let msg;
    try { msg = JSON.parse(event.data); } catch (e) { return; }
    if (msg.type !== "reload") return;
    window.dispatchEvent(new CustomEvent("devserver:reload", { detail: msg }));
    if (document.body && document.body.dataset.devserverNoReload !== undefined) return;
    if (msg.css && msg.css.length && !msg.everything && !(msg.routes || []).length) {
      swapCss(msg.css);
      return;
    }
    if (affects(msg)) location.reload();
  }

  function connect() {
    let ws;
    try { ws = new WebSocket(url); } catch (e) { return retry(); }
    ws.addEventListener("open", function () {
      if (wasConnected) { location.reload(); return; }
      wasConnected = true;
      delay = 100;
    });
    ws.addEventListener("message", onMessage);
    ws.addEventListener("close", retry);
  }

  function retry() {
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 2000);
  }

  connect();
})();
