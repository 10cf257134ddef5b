// Draws the charts of a page from json_script data: <canvas data-chart="kind"
// data-source="id-of-json-script">. Every chart has its numbers in a table too, so the page
// still says everything without JavaScript. No inline scripts: the CSP forbids them.
(function () {
  "use strict";
  if (!window.Chart) return;
  const Chart = window.Chart;

  // Okabe-Ito: distinguishable with the common forms of colour blindness.
  const COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"];
  // A second cue beside colour, for the scatter and the line markers.
  const SHAPES = ["circle", "triangle", "rect", "rectRot", "star", "crossRot", "rectRounded", "cross"];
  const DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3], [1, 2], [12, 6], [4, 4], [8, 2]];

  Chart.defaults.animation = false; // prints and screenshots show the final chart at once
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#1d2329";
  Chart.defaults.maintainAspectRatio = false;

  function data(canvas) {
    const node = document.getElementById(canvas.dataset.source);
    return node ? JSON.parse(node.textContent) : null;
  }

  function axisTitle(text) {
    return { display: Boolean(text), text: text || "" };
  }

  const builders = {
    // Share of customers beside share of revenue, per segment. Each segment's bars wear its
    // card's colour (d.colours); the two measures differ by fill (pale outlined vs solid),
    // which the legend shows in neutral tones so no segment colour means a measure.
    share(d) {
      const colour = (i) => COLOURS[(d.colours ? d.colours[i] : i) % COLOURS.length];
      const segmentColours = d.labels.map((_, i) => colour(i));
      const MEASURES = [
        { label: "Share of customers (%): pale, outlined bars", fill: "#ffffff", stroke: "#1d2329" },
        { label: "Share of revenue (%): solid bars", fill: "#1d2329", stroke: "#1d2329" },
      ];
      return {
        type: "bar",
        data: {
          labels: d.labels,
          datasets: [
            { label: "Share of customers (%)", data: d.customers, backgroundColor: segmentColours.map((c) => c + "40"), borderColor: segmentColours, borderWidth: 2 },
            { label: "Share of revenue (%)", data: d.revenue, backgroundColor: segmentColours, borderColor: "#000", borderWidth: 1 },
          ],
        },
        options: {
          scales: { y: { beginAtZero: true, title: axisTitle("% of all customers / revenue") } },
          plugins: {
            legend: {
              labels: {
                generateLabels: (chart) => MEASURES.map((m, i) => ({
                  text: m.label, fillStyle: m.fill, strokeStyle: m.stroke, lineWidth: 2,
                  hidden: !chart.isDatasetVisible(i), datasetIndex: i,
                })),
              },
            },
            tooltip: { callbacks: { label: (c) => c.dataset.label + ": " + c.parsed.y + "%" } },
          },
        },
      };
    },
    // The segment's mean as a multiple of all customers' mean, per feature.
    lift(d) {
      return {
        type: "bar",
        data: {
          labels: d.labels,
          datasets: [{
            label: "× all customers' average",
            data: d.values.map((v) => Math.max(v, 0.01)),
            backgroundColor: d.values.map((v) => (v >= 1 ? COLOURS[0] : COLOURS[1])),
          }],
        },
        options: {
          indexAxis: "y",
          scales: {
            x: { type: "logarithmic", title: axisTitle("× all customers' average (1 = typical; log scale)") },
          },
          plugins: { legend: { display: false } },
        },
      };
    },
    // One line per algorithm: a value against k.
    lines(d, canvas) {
      return {
        type: "line",
        data: {
          datasets: d.series.map((s, i) => ({
            label: s.label,
            data: s.points.map((p) => ({ x: p[0], y: p[1] })),
            borderColor: COLOURS[i % COLOURS.length],
            backgroundColor: COLOURS[i % COLOURS.length],
            borderDash: DASHES[i % DASHES.length],
            pointStyle: SHAPES[i % SHAPES.length],
            pointRadius: 4,
            tension: 0,
          })),
        },
        options: {
          parsing: false,
          scales: {
            x: { type: "linear", ticks: { stepSize: 1 }, title: axisTitle(canvas.dataset.xLabel) },
            y: { title: axisTitle(d.y_label) },
          },
        },
      };
    },
    // Holdout check: actual and predicted purchases per customer in the holdout, by
    // repeat purchases before it (the conditional-expectation chart).
    holdout(d) {
      return {
        type: "line",
        data: {
          labels: d.labels,
          datasets: [
            { label: "Actual", data: d.actual, borderColor: COLOURS[0], backgroundColor: COLOURS[0], pointStyle: SHAPES[0], pointRadius: 4, tension: 0 },
            { label: "Predicted", data: d.predicted, borderColor: COLOURS[1], backgroundColor: COLOURS[1], borderDash: DASHES[1], pointStyle: SHAPES[1], pointRadius: 4, tension: 0 },
          ],
        },
        options: {
          scales: {
            x: { title: axisTitle("Repeat purchases before the holdout") },
            y: { beginAtZero: true, title: axisTitle("Purchases per customer in the holdout") },
          },
        },
      };
    },
    // Holdout check week by week: cumulative repeat purchases, actual and predicted, with a
    // dashed vertical line after the last calibration week (d.split, an index of d.labels).
    tracking(d) {
      const split = {
        id: "holdoutSplit",
        afterDatasetsDraw(chart) {
          if (d.split == null) return;
          const x = chart.scales.x.getPixelForValue(d.split);
          const area = chart.chartArea;
          const ctx = chart.ctx;
          ctx.save();
          ctx.strokeStyle = "#1d2329";
          ctx.setLineDash([4, 4]);
          ctx.beginPath();
          ctx.moveTo(x, area.top);
          ctx.lineTo(x, area.bottom);
          ctx.stroke();
          ctx.setLineDash([]);
          ctx.fillStyle = "#1d2329";
          ctx.textBaseline = "top";
          ctx.fillText(" holdout →", x, area.top + 2);
          ctx.restore();
        },
      };
      return {
        type: "line",
        data: {
          labels: d.labels,
          datasets: [
            { label: "Actual", data: d.actual, borderColor: COLOURS[0], backgroundColor: COLOURS[0], pointRadius: 0, borderWidth: 2, tension: 0 },
            { label: "Predicted", data: d.predicted, borderColor: COLOURS[1], backgroundColor: COLOURS[1], borderDash: DASHES[1], pointRadius: 0, borderWidth: 2, tension: 0 },
          ],
        },
        options: {
          interaction: { mode: "index", intersect: false },
          scales: {
            x: { title: axisTitle("Week ending"), ticks: { maxTicksLimit: 12 } },
            y: { beginAtZero: true, title: axisTitle("Cumulative repeat purchases") },
          },
        },
        plugins: [split],
      };
    },
    // Segment sizes at each publication (oldest first), stacked; a segment name missing
    // from a run has no bar there (null).
    sizes(d) {
      return {
        type: "bar",
        data: {
          labels: d.labels,
          datasets: d.series.map((s, i) => ({
            label: s.name,
            data: s.sizes,
            backgroundColor: COLOURS[i % COLOURS.length],
            borderColor: "#ffffff",
            borderWidth: 1,
          })),
        },
        options: {
          scales: {
            x: { stacked: true },
            y: { stacked: true, beginAtZero: true, title: axisTitle("Customers") },
          },
        },
      };
    },
    // Customers on the first two principal components, by segment.
    pca(d) {
      const ratio = d.explained || [];
      const pct = (v) => (v == null ? "" : " (" + (100 * v).toFixed(1) + "% of variation)");
      return {
        type: "scatter",
        data: {
          datasets: d.segments.map((s, i) => ({
            label: s.name,
            data: s.points.map((p) => ({ x: p[0], y: p[1] })),
            backgroundColor: COLOURS[i % COLOURS.length] + "b3",
            borderColor: COLOURS[i % COLOURS.length],
            pointStyle: SHAPES[i % SHAPES.length],
            pointRadius: 3.5,
          })),
        },
        options: {
          parsing: false,
          scales: {
            x: { title: axisTitle("First component" + pct(ratio[0])) },
            y: { title: axisTitle("Second component" + pct(ratio[1])) },
          },
          plugins: { legend: { labels: { usePointStyle: true } } },
        },
      };
    },
  };

  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    const build = builders[canvas.dataset.chart];
    const d = data(canvas);
    if (!build || !d) return;
    new Chart(canvas, build(d, canvas));
  });

  // Redraw at the printed width so charts fit the A4 page.
  window.addEventListener("beforeprint", () => {
    Object.values(Chart.instances).forEach((chart) => chart.resize());
  });
})();
