// Reads the store devserver embedded in the page, and refetches the same URL as JSON.
(function () {
  const el = document.getElementById("devserver-store");
  const store = el ? JSON.parse(el.textContent) : {};
  window.atlasStore = store;
  const live = document.getElementById("live");
  const button = document.getElementById("refresh");
  if (live) live.textContent = "store: " + Object.keys(store).join(", ");
  if (button) {
    button.addEventListener("click", async () => {
      const res = await fetch(location.pathname, { headers: { Accept: "application/json" } });
      const data = await res.json();
      live.textContent = `GET ${location.pathname} as JSON → ${res.status}, keys: ${Object.keys(data).join(", ")}`;
      live.dataset.status = String(res.status);
    });
  }
})();
