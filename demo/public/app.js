// The page's client side: read the store devserver embedded in the page, and fetch the same URL
// as JSON. No framework and no build step: a page is HTML first, and scripts only add to it.
(function () {
  "use strict";
  const el = document.getElementById("devserver-store");
  const store = el ? JSON.parse(el.textContent) : {};
  window.atlasStore = store; // handy in the console

  const hydrated = document.getElementById("hydrated");
  if (hydrated) {
    const keys = Object.keys(store);
    hydrated.textContent = keys.length
      ? "public/app.js read the store from the page: " + keys.join(", ") + "."
      : "public/app.js found an empty store in the page.";
  }

  const button = document.getElementById("refresh");
  const live = document.getElementById("live");
  const pre = document.getElementById("json");
  if (!button || !live) return;
  button.addEventListener("click", async () => {
    const path = location.pathname + location.search;
    button.disabled = true;
    try {
      // Same URL, but asking for JSON: devserver answers with the API's JSON instead of the page.
      const res = await fetch(path, { headers: { Accept: "application/json" } });
      const data = await res.json();
      live.textContent = `GET ${path} as JSON → ${res.status}, keys: ${Object.keys(data).join(", ")}`;
      live.dataset.status = String(res.status);
      if (pre) {
        pre.textContent = JSON.stringify(data, null, 2);
        pre.hidden = false;
      }
    } catch (err) {
      live.textContent = `GET ${path} failed: ${err}`;
      live.dataset.status = "error";
    } finally {
      button.disabled = false;
    }
  });
})();
