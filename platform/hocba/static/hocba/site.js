/* What every page does, without inline script (the Content-Security-Policy runs none, hocba.kernel.csp):
 * - <select data-autosubmit> / <input data-autosubmit>: a change submits its form (language, filters);
 * - <form data-confirm="question"> (or its submit button): asks before it submits — destructive actions
 *   (button.danger) always do;
 * - .window-state[data-lock-at]: counts down the last 24 hours before the entry window locks. */
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el && el.form && el.hasAttribute && el.hasAttribute("data-autosubmit")) el.form.submit();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var question = (button && button.getAttribute && button.getAttribute("data-confirm")) ||
      (form && form.getAttribute && form.getAttribute("data-confirm"));
    if (question && !window.confirm(question)) event.preventDefault();
  });

  function countdown() {
    var el = document.querySelector(".window-state[data-lock-at]");
    if (!el) return;
    var lockAt = new Date(el.getAttribute("data-lock-at")).getTime();
    var box = el.querySelector(".countdown");
    if (!box) return;
    var out = box.querySelector("b");
    function tick() {
      var left = Math.floor((lockAt - Date.now()) / 1000);
      if (left > 24 * 3600) return;
      box.hidden = false;
      if (left <= 0) { out.textContent = "0:00"; el.classList.add("locked"); return; }
      var h = Math.floor(left / 3600), m = Math.floor(left % 3600 / 60), s = left % 60;
      out.textContent = (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(s).padStart(2, "0");
      setTimeout(tick, 1000);
    }
    tick();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", countdown);
  else countdown();
})();
