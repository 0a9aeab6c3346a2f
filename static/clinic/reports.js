/* Admin report charts. The figures come from the server in json_script blocks; every chart
   has a table beside it with the same numbers, for screen readers and without JavaScript. */
(function () {
  "use strict";
  var ROUTE_COLOURS = ["#1f4e5f", "#5b8e7d", "#f4a259", "#bc4b51", "#8cb369"];

  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function dayLabel(iso) {
    return new Date(iso + "T12:00:00").toLocaleDateString(undefined, { day: "numeric", month: "short" });
  }

  function bar(canvasId, config) {
    var canvas = document.getElementById(canvasId);
    if (!canvas || typeof Chart === "undefined") { return; }
    new Chart(canvas, config);
  }

  var weekly = data("weekly-sessions-data");
  if (weekly) {
    bar("weekly-sessions-chart", {
      type: "bar",
      data: {
        labels: weekly.labels.map(dayLabel),
        datasets: weekly.datasets.map(function (set, i) {
          return { label: set.label, data: set.data, backgroundColor: ROUTE_COLOURS[i % ROUTE_COLOURS.length] };
        })
      },
      options: {
        maintainAspectRatio: false, animation: false,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  var outcomes = data("outcomes-data");
  if (outcomes) {
    bar("outcome-rates-chart", {
      type: "bar",
      data: {
        labels: outcomes.instruments,
        datasets: [
          { label: "Response %", data: outcomes.response, backgroundColor: "#1f4e5f" },
          { label: "Remission %", data: outcomes.remission, backgroundColor: "#8cb369" }
        ]
      },
      options: {
        maintainAspectRatio: false, animation: false,
        scales: { y: { beginAtZero: true, max: 100, ticks: { callback: function (v) { return v + "%"; } } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
    bar("dropout-chart", {
      type: "bar",
      data: {
        labels: outcomes.dropout_labels,
        datasets: [{ label: "Courses discontinued", data: outcomes.dropout, backgroundColor: "#bc4b51" }]
      },
      options: {
        maintainAspectRatio: false, animation: false,
        scales: {
          x: { title: { display: true, text: "Sessions given before discontinuing" } },
          y: { beginAtZero: true, ticks: { precision: 0 } }
        },
        plugins: { legend: { display: false } }
      }
    });
  }
})();
