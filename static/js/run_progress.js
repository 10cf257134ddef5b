// Follows a queued or running segmentation run: polls its JSON status, moves the progress
// bar and the stage text, and reloads the page (which then shows the report) when it ends.
(function () {
  "use strict";
  const box = document.getElementById("run-progress");
  if (!box || box.dataset.finished === "1" || !box.dataset.statusUrl) return;
  const bar = box.querySelector("progress");
  const stage = box.querySelector("[data-role=stage]");
  const percent = box.querySelector("[data-role=percent]");
  const status = box.querySelector("[data-role=status]");
  const error = box.querySelector("[data-role=error]");
  let delay = 1000;

  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.ok) {
        const data = await response.json();
        const value = Math.round(data.progress);
        if (bar) { bar.value = value; bar.textContent = value + "%"; }
        if (percent) percent.textContent = value + "%";
        if (stage) stage.textContent = data.stage_label || data.stage || data.status_display;
        if (status) status.textContent = data.status_display;
        if (error && data.error) { error.textContent = data.error; error.hidden = false; }
        if (data.finished) {
          box.dataset.finished = "1";
          window.setTimeout(() => window.location.reload(), 300);
          return;
        }
        delay = 1000;
      } else {
        delay = Math.min(delay * 2, 10000);
      }
    } catch (e) {
      delay = Math.min(delay * 2, 10000); // network hiccup: back off and try again
    }
    window.setTimeout(poll, delay);
  }
  window.setTimeout(poll, 500);
})();
