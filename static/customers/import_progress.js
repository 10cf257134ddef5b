// Polls the import's JSON status while it runs and reloads the page when it is done.
(function () {
  const box = document.getElementById("import-progress");
  if (!box || box.dataset.finished === "1" || !box.dataset.statusUrl) return;
  const bar = box.querySelector("progress");
  const stage = box.querySelector("[data-role=stage]");
  const status = box.querySelector("[data-role=status]");
  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, { credentials: "same-origin" });
      if (response.ok) {
        const data = await response.json();
        if (bar) { bar.value = data.progress; bar.textContent = data.progress + "%"; }
        if (stage) { stage.textContent = data.stage || data.status_display; }
        // The badge follows too: "Running" once the worker has started, not the page's "Queued".
        if (status) { status.textContent = data.status_display; }
        if (data.finished) { window.location.reload(); return; }
        // The worker has read the file: show the mapping step (or the import it started).
        if (box.dataset.status === "reading" && data.status !== "reading") {
          window.location.reload();
          return;
        }
        if (data.status === "needs_mapping") return;
      }
    } catch (e) { /* network hiccup: try again */ }
    window.setTimeout(poll, 1500);
  }
  window.setTimeout(poll, 1000);
})();
