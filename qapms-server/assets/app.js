// qapms dashboard: the theme toggle. Loaded in <head> (not deferred) so a saved theme is set
// before the first paint. "auto" follows prefers-color-scheme.
(function () {
  "use strict";
  var KEY = "qapms-theme";
  var order = ["auto", "light", "dark"];
  function saved() {
    try { return localStorage.getItem(KEY) || "auto"; } catch (e) { return "auto"; }
  }
  function apply(theme) {
    var root = document.documentElement;
    if (theme === "auto") { root.removeAttribute("data-theme"); }
    else { root.setAttribute("data-theme", theme); }
    var button = document.getElementById("theme-toggle");
    if (button) {
      button.textContent = "Theme: " + theme;
      button.setAttribute("aria-pressed", theme === "auto" ? "false" : "true");
    }
  }
  apply(saved());
  document.addEventListener("DOMContentLoaded", function () {
    apply(saved());
    var button = document.getElementById("theme-toggle");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var next = order[(order.indexOf(saved()) + 1) % order.length];
      try { localStorage.setItem(KEY, next); } catch (e) { /* private mode: not saved */ }
      apply(next);
    });
  });
})();
