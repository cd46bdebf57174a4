/* What every page does, without inline script (the Content-Security-Policy runs none, hocba.kernel.csp):
 * - <select data-autosubmit> / <input data-autosubmit>: a change submits its form (language, filters);
 * - <form data-confirm="question"> (or its submit button): asks before it submits — destructive actions
 *   (button.danger) always do;
 * - .window-state[data-lock-at]: counts down the last 24 hours before the entry window locks;
 * - <button data-menu-toggle aria-controls="id" aria-expanded>: opens and closes the element it controls (the
 *   header's menu and account group: class "open"); Escape or a click elsewhere closes it, focus back on the button;
 * - [data-job-poll="url"] (a background job's page): asks the job's status every second and moves the <progress>
 *   and the counts; once the job has ended, the page reloads to show each row's outcome. */
(function () {
  "use strict";

  function menuOf(button) {
    var id = button.getAttribute("aria-controls");
    return id ? document.getElementById(id) : null;
  }

  function setOpen(button, open) {
    var menu = menuOf(button);
    if (!menu) return;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    menu.classList.toggle("open", open);
  }

  function closeMenus(except, focusBack) {
    var open = document.querySelectorAll("[data-menu-toggle][aria-expanded='true']");
    for (var i = 0; i < open.length; i++) {
      if (open[i] === except) continue;
      var menu = menuOf(open[i]);
      if (except && menu && menu.contains(except)) continue;  // the account group inside the open menu
      setOpen(open[i], false);
      if (focusBack && menu && menu.contains(document.activeElement)) open[i].focus();
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-menu-toggle]") : null;
    if (button) {
      var opening = button.getAttribute("aria-expanded") !== "true";
      closeMenus(button, false);
      setOpen(button, opening);
      return;
    }
    var open = document.querySelectorAll("[data-menu-toggle][aria-expanded='true']");
    for (var i = 0; i < open.length; i++) {
      var menu = menuOf(open[i]);
      if (menu && !menu.contains(event.target)) setOpen(open[i], false);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && document.querySelector("[data-menu-toggle][aria-expanded='true']")) {
      var inside = document.activeElement;
      var toggles = document.querySelectorAll("[data-menu-toggle][aria-expanded='true']");
      var target = null;
      for (var i = 0; i < toggles.length; i++) {
        var menu = menuOf(toggles[i]);
        if (menu && (menu.contains(inside) || toggles[i] === inside)) target = toggles[i];
      }
      closeMenus(null, false);
      if (target) target.focus();
    }
  });

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
  function pollJob() {
    var box = document.querySelector("[data-job-poll]");
    if (!box || box.hasAttribute("data-finished") || !window.fetch) return;
    var url = box.getAttribute("data-job-poll");
    var bar = document.getElementById("job-progress");
    var count = document.getElementById("job-count");
    var percent = document.getElementById("job-percent");
    var state = document.getElementById("job-state");
    var failures = 0;
    function show(data) {
      if (bar) { bar.value = data.percent; bar.textContent = data.percent + " %"; }
      if (percent) percent.textContent = data.percent;
      if (count && count.firstChild && count.firstChild.nodeType === 3) {
        count.firstChild.nodeValue = count.firstChild.nodeValue.replace(/\d+\/\d+/, data.done + "/" + data.total);
      }
      if (state) { state.textContent = data.state_label; state.className = "job-badge state-" + data.state; }
      box.setAttribute("data-state", data.state);
    }
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (data) {
          failures = 0;
          show(data);
          if (data.finished) { window.location.reload(); return; }
          setTimeout(tick, 1000);
        })
        .catch(function () {
          failures += 1;
          if (failures < 30) setTimeout(tick, 2000);  // a restarting server: keep asking for a minute
        });
    }
    setTimeout(tick, 1000);
  }

  function start() { countdown(); pollJob(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
