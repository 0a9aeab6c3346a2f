/* Outcome charts: one chart per instrument with its severity bands shaded, treatment sessions
   as dashed vertical lines and the mood journal on a second axis; and a journal-only chart.
   The data (scores, bands, flags) is the server's, from a json_script; the browser only
   draws. Chart.js has no date adapter here, so the x axis is a linear axis of timestamps. */
(function () {
  "use strict";
  var BAND_COLOURS = ["rgba(25,135,84,.10)", "rgba(255,193,7,.12)", "rgba(253,126,20,.14)",
                      "rgba(220,53,69,.13)", "rgba(132,32,41,.16)", "rgba(88,21,28,.18)"];
  var DAY = 86400000;

  function time(iso) { return new Date(iso.length === 10 ? iso + "T12:00:00" : iso).getTime(); }
  function dateLabel(value) {
    return new Date(value).toLocaleDateString(undefined, { day: "numeric", month: "short" });
  }

  /* Shades each band behind the data and labels it at the left edge. */
  var bandsPlugin = {
    id: "kestrelBands",
    beforeDatasetsDraw: function (chart, args, options) {
      var bands = options.bands || [];
      if (!bands.length) { return; }
      var ctx = chart.ctx, area = chart.chartArea, y = chart.scales.y;
      ctx.save();
      bands.forEach(function (band, i) {
        var top = y.getPixelForValue(band.high + 0.5), bottom = y.getPixelForValue(band.low - 0.5);
        top = Math.max(top, area.top); bottom = Math.min(bottom, area.bottom);
        ctx.fillStyle = BAND_COLOURS[Math.min(i, BAND_COLOURS.length - 1)];
        ctx.fillRect(area.left, top, area.right - area.left, bottom - top);
        ctx.fillStyle = "#495057";
        ctx.font = "11px system-ui, sans-serif";
        ctx.fillText(band.name, area.left + 4, Math.min(bottom - 3, area.bottom - 3));
      });
      ctx.restore();
    }
  };

  /* Dashed vertical line at each dosing session. */
  var sessionsPlugin = {
    id: "kestrelSessions",
    afterDatasetsDraw: function (chart, args, options) {
      var sessions = options.sessions || [];
      var ctx = chart.ctx, area = chart.chartArea, x = chart.scales.x;
      ctx.save();
      ctx.strokeStyle = "rgba(31,78,95,.55)";
      ctx.setLineDash([4, 4]);
      sessions.forEach(function (s) {
        var px = x.getPixelForValue(time(s.x));
        if (px < area.left || px > area.right) { return; }
        ctx.beginPath(); ctx.moveTo(px, area.top); ctx.lineTo(px, area.bottom); ctx.stroke();
      });
      ctx.restore();
    }
  };

  function journalDataset(journal, key, label, colour, axis) {
    return {
      label: label, yAxisID: axis, borderColor: colour, backgroundColor: colour,
      borderWidth: 1.5, pointRadius: 2, tension: 0.2, spanGaps: false,
      data: journal.map(function (d) { return { x: time(d.x), y: d[key] }; })
    };
  }

  function xRange(points, sessions) {
    var all = points.concat(sessions.map(function (s) { return time(s.x); }));
    if (!all.length) { return {}; }
    return { min: Math.min.apply(null, all) - DAY, max: Math.max.apply(null, all) + DAY };
  }

  function instrumentChart(canvas, series, sessions, journal) {
    var points = series.points.map(function (p) { return { x: time(p.x), y: p.y, band: p.band }; });
    var range = xRange(points.map(function (p) { return p.x; }), sessions);
    var datasets = [{
      label: series.code + " total", yAxisID: "y", borderColor: "#1f4e5f",
      backgroundColor: "#1f4e5f", borderWidth: 2.5, pointRadius: 4, tension: 0, data: points
    }];
    var scales = {
      x: { type: "linear", min: range.min, max: range.max,
           ticks: { callback: dateLabel, maxTicksLimit: 6 } },
      y: { min: series.min, max: series.max, title: { display: true, text: series.code } }
    };
    if (journal && journal.length) {
      datasets.push(journalDataset(journal, "mood", "Journal mood (0-10)", "rgba(111,66,193,.8)", "mood"));
      scales.mood = { position: "right", min: 0, max: 10, grid: { drawOnChartArea: false },
                      title: { display: true, text: "mood" } };
    }
    return new Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      plugins: [bandsPlugin, sessionsPlugin],
      options: {
        animation: false, maintainAspectRatio: false, parsing: false,
        scales: scales,
        plugins: {
          kestrelBands: { bands: series.bands },
          kestrelSessions: { sessions: sessions },
          legend: { position: "bottom" },
          tooltip: { callbacks: {
            title: function (items) { return dateLabel(items[0].parsed.x); },
            afterLabel: function (item) { return item.raw.band || ""; }
          } }
        }
      }
    });
  }

  function journalChart(canvas, journal, sessions) {
    var range = xRange(journal.map(function (d) { return time(d.x); }), sessions);
    return new Chart(canvas, {
      type: "line",
      data: { datasets: [
        journalDataset(journal, "mood", "Mood", "#6f42c1", "y"),
        journalDataset(journal, "energy", "Energy", "#198754", "y"),
        journalDataset(journal, "anxiety", "Anxiety", "#dc3545", "y"),
        journalDataset(journal, "sleep", "Sleep (hours)", "#0d6efd", "sleep")
      ] },
      plugins: [sessionsPlugin],
      options: {
        animation: false, maintainAspectRatio: false, parsing: false,
        scales: {
          x: { type: "linear", min: range.min, max: range.max,
               ticks: { callback: dateLabel, maxTicksLimit: 6 } },
          y: { min: 0, max: 10, title: { display: true, text: "0-10" } },
          sleep: { position: "right", min: 0, max: 14, grid: { drawOnChartArea: false },
                   title: { display: true, text: "hours" } }
        },
        plugins: {
          kestrelSessions: { sessions: sessions || [] },
          legend: { position: "bottom" },
          tooltip: { callbacks: { title: function (items) { return dateLabel(items[0].parsed.x); } } }
        }
      }
    });
  }

  function draw() {
    var source = document.getElementById("chart-data");
    if (!source || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    (data.series || []).forEach(function (series) {
      var canvas = document.querySelector('canvas[data-instrument="' + series.code + '"]');
      if (canvas) { instrumentChart(canvas, series, data.sessions || [], data.journal || []); }
    });
    var journal = document.getElementById("journal-chart");
    if (journal && data.journal) { journalChart(journal, data.journal, data.sessions || []); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
