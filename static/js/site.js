// Progressive enhancement for every page; no inline scripts (the CSP forbids them).
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset && form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A table wider than its box scrolls sideways (.table-wrap): while it really overflows, the
// box is a named region the keyboard can reach and scroll (tabindex="0"); a table that fits
// adds no tab stop. Named by the table's caption, else the heading of its card or section.
function scrollRegionName(box) {
  const caption = box.querySelector("caption");
  if (caption && caption.textContent.trim()) {
    return caption.textContent.trim();
  }
  const holder = box.closest("section, .card, details, article");
  const heading = holder && holder.querySelector("h2, h3, h4, summary");
  return heading && heading.textContent.trim() ? heading.textContent.trim() : "Table";
}

function markScrollRegions() {
  document.querySelectorAll(".table-wrap").forEach((box) => {
    const overflows = box.scrollWidth > box.clientWidth + 1;
    const ours = box.dataset.scrollRegion === "auto";
    if (overflows && !box.hasAttribute("tabindex")) {
      box.tabIndex = 0;
      box.setAttribute("role", "region");
      if (!box.hasAttribute("aria-label") && !box.hasAttribute("aria-labelledby")) {
        box.setAttribute("aria-label", scrollRegionName(box) + " (scrolls sideways)");
      }
      box.dataset.scrollRegion = "auto";
    } else if (!overflows && ours) {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
      delete box.dataset.scrollRegion;
    }
  });
}

let scrollRegionTimer = null;
function markScrollRegionsSoon() {
  window.clearTimeout(scrollRegionTimer);
  scrollRegionTimer = window.setTimeout(markScrollRegions, 100);
}
markScrollRegions();
window.addEventListener("load", markScrollRegions);
window.addEventListener("resize", markScrollRegionsSoon);
// A folded table (inside <details>) has no width until it is opened.
document.addEventListener("toggle", markScrollRegionsSoon, true);
