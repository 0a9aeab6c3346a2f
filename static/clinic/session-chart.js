/* The session runner's vitals chart: BP, heart rate and SpO2 against minutes from the dose
   start. Data comes from the json_script the server renders (flags are the server's); the
   chart is redrawn whenever htmx swaps the vitals panel. */
(function () {
  "use strict";
  var chart = null;
  var STYLE = {
    systolic: { color: "#b02a37", dash: [] },
    diastolic: { color: "#e35d6a", dash: [6, 4] },
    heart_rate: { color: "#0b5ed7", dash: [] },
    spo2: { color: "#146c43", dash: [] }
  };
  function draw() {
    var canvas = document.getElementById("session-chart");
    var source = document.getElementById("session-chart-data");
    if (chart) { chart.destroy(); chart = null; }
    if (!canvas || !source || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var datasets = Object.keys(STYLE).map(function (key) {
      return {
        label: data.labels[key],
        data: data.series[key] || [],
        borderColor: STYLE[key].color,
        backgroundColor: STYLE[key].color,
        borderDash: STYLE[key].dash,
        yAxisID: key === "spo2" ? "pct" : "y",
        tension: 0,
        pointRadius: 3
      };
    });
    chart = new Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: false,
        scales: {
          x: { type: "linear", title: { display: true, text: "minutes from dose start" } },
          y: { title: { display: true, text: "mmHg, /min" }, suggestedMin: 40, suggestedMax: 180 },
          pct: { position: "right", min: 80, max: 100, grid: { drawOnChartArea: false },
                 title: { display: true, text: "SpO₂ %" } }
        },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }
      }
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.body.addEventListener("htmx:afterSettle", draw);
  if (document.readyState !== "loading") { draw(); }
})();
