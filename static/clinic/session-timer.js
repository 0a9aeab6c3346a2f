/* Elapsed time since the dose start (or first device) on the session runner. The server
   renders a fallback text; this updates it every second from the data-start attribute. */
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function format(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    return Math.floor(s / 3600) + ":" + pad(Math.floor((s % 3600) / 60)) + ":" + pad(s % 60);
  }
  function tick() {
    document.querySelectorAll("[data-session-timer]").forEach(function (el) {
      var start = Date.parse(el.getAttribute("data-start"));
      if (isNaN(start)) { return; }
      var endText = el.getAttribute("data-end");
      var end = endText ? Date.parse(endText) : Date.now();
      el.textContent = format((end - start) / 1000);
    });
  }
  tick();
  setInterval(tick, 1000);
})();
