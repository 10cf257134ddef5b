// Sortable tables: <table data-sortable>. Each column heading becomes a button; the current
// order is announced with aria-sort. Cells may carry data-value (numbers) to sort by.
(function () {
  "use strict";
  function key(cell, numeric) {
    const raw = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
    if (!numeric) return raw.toLowerCase();
    const n = parseFloat(raw);
    return Number.isNaN(n) ? null : n;
  }
  document.querySelectorAll("table[data-sortable]").forEach((table) => {
    const headers = Array.from(table.tHead.rows[0].cells);
    headers.forEach((th, index) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sort-button";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      if (!th.hasAttribute("aria-sort")) th.setAttribute("aria-sort", "none");
      button.addEventListener("click", () => {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        const numeric = th.dataset.type === "number";
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        rows.sort((a, b) => {
          const x = key(a.cells[index], numeric);
          const y = key(b.cells[index], numeric);
          if (x === y) return 0;
          if (x === null) return 1; // missing values last either way
          if (y === null) return -1;
          return (x < y ? -1 : 1) * (ascending ? 1 : -1);
        });
        rows.forEach((row) => body.appendChild(row));
        headers.forEach((h) => h.setAttribute("aria-sort", "none"));
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      });
    });
  });
})();
