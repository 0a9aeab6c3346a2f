// Treatment plan form: show only the fields that apply to the chosen route and dose mode.
// Without JavaScript every group stays visible with its heading saying when it applies, and
// the server ignores the ones that do not apply.
(function () {
  "use strict";
  var form = document.querySelector("form.plan-form");
  if (!form) return;
  var route = form.querySelector("[name=route]");
  var mode = form.querySelector("[name=dose_mode]");
  function update() {
    form.querySelectorAll(".plan-group").forEach(function (group) {
      var show = true;
      if (group.dataset.showMode && mode) show = show && mode.value === group.dataset.showMode;
      if (group.dataset.showRoute && route) show = show && route.value === group.dataset.showRoute;
      group.hidden = !show;
    });
  }
  form.querySelectorAll(".plan-group").forEach(function (group) {
    group.classList.add("plan-group-js");
  });
  if (route) route.addEventListener("change", update);
  if (mode) mode.addEventListener("change", update);
  update();
})();
