/* The class entry pages (conduct, attendance, TT27 qualities and competencies, the principal's year-end
 * decisions) and the confirmations of the class page. Each page is saved through the API in one PUT; changed cells
 * are marked, the server's row errors are shown on their rows and cells, nothing typed is lost when the connection
 * fails; Ctrl+S saves, Enter moves down a column. */
(function () {
  "use strict";

  // Forms that ask before they act (submit / approve the class's records): hocba/site.js, on every page.

  var configNode = document.getElementById("entry-config");
  var table = document.getElementById("entry");
  if (!configNode || !table) return;
  var config = JSON.parse(configNode.textContent);
  var M = config.messages || {};

  // A cell or row error in the page's language: the server sends both (detail, detail_en).
  var english = (document.documentElement.lang || "").slice(0, 2) === "en";
  function errorText(error) {
    return english && error.detail_en ? error.detail_en : error.detail;
  }
  var saveButton = document.getElementById("entry-save");
  var retryButton = document.getElementById("entry-retry");
  var statusNode = document.getElementById("entry-status");
  var csrfInput = document.querySelector("input[name=csrfmiddlewaretoken]");
  var rows = Array.prototype.slice.call(table.tBodies[0].rows).filter(function (tr) { return tr.dataset.student; });
  var saving = false;

  function fmt(message, params) {
    return String(message || "").replace(/%\((\w+)\)s/g, function (_m, key) {
      return params && params[key] !== undefined ? String(params[key]) : "";
    });
  }
  function field(tr, name) { return tr.querySelector("[name=" + name + "]"); }
  function current(el) { return el.type === "checkbox" ? (el.checked ? "1" : "0") : el.value.replace(/\r\n/g, "\n"); }
  function locked(tr) { return tr.classList.contains("locked"); }
  function fields(tr) { return Array.prototype.slice.call(tr.querySelectorAll("[data-original]")); }
  function changed(el) { return current(el) !== el.dataset.original.replace(/\r\n/g, "\n"); }
  function rowDirty(tr) { return !locked(tr) && fields(tr).some(changed); }
  function dirtyRows() { return rows.filter(rowDirty); }
  function setStatus(text, kind) {
    statusNode.textContent = text || "";
    statusNode.className = "sheet-status" + (kind ? " " + kind : "");
  }
  function rowMessage(tr, text, append) {
    var holder = tr.querySelector(".row-msg");
    if (holder) holder.textContent = append && holder.textContent ? holder.textContent + " · " + text : text || "";
    tr.classList.toggle("error", !!text);
    if (!text) {
      Array.prototype.forEach.call(tr.querySelectorAll(".invalid"), function (el) {
        el.classList.remove("invalid");
        el.removeAttribute("aria-invalid");
      });
    }
  }
  // The cell a server error names (its field: a subject or quality code, or a decision's key), marked invalid.
  function markCell(tr, name, text) {
    var all = fields(tr), el = all.filter(function (f) { return f.dataset.code === name && f.dataset.field !== "chosen"; })[0]
      || all.filter(function (f) { return f.dataset.field === name || (name === "retest_chosen" && f.dataset.field === "chosen"); })[0];
    if (!el) return;
    el.classList.add("invalid");
    el.setAttribute("aria-invalid", "true");
    el.title = text;
  }
  function refresh() {
    var n = dirtyRows().length;
    rows.forEach(function (tr) {
      tr.classList.toggle("dirty", rowDirty(tr));
      fields(tr).forEach(function (el) { el.classList.toggle("changed", changed(el)); });
    });
    saveButton.disabled = saving || n === 0;
    if (saving) return;
    if (n) setStatus(fmt(M.dirty, { n: n }), "dirty");
    else if (statusNode.classList.contains("dirty")) setStatus(M.clean, "ok");
  }
  function syncExcused(tr) {
    var absent = field(tr, "absent"), excused = field(tr, "excused"), reason = field(tr, "reason");
    if (!absent || locked(tr)) return;
    excused.disabled = !absent.checked;
    reason.disabled = !absent.checked;
    if (!absent.checked) { excused.checked = false; }
  }
  rows.forEach(syncExcused);
  table.addEventListener("input", function (event) {
    var tr = event.target.closest("tr");
    if (tr) { rowMessage(tr, ""); syncExcused(tr); }
    // A re-test result typed for a subject not ticked: the student re-tests it, so it is ticked too.
    var el = event.target;
    if (tr && el.dataset.field === "retest" && el.value.trim()) {
      var box = tr.querySelector("[data-field=chosen][data-code='" + el.dataset.code + "']");
      if (box && !box.checked) box.checked = true;
    }
    refresh();
  });
  table.addEventListener("change", function (event) {
    var tr = event.target.closest("tr");
    if (tr) { rowMessage(tr, ""); syncExcused(tr); }
    refresh();
  });
  // A letter typed on a level picks it without the accents: D picks Đ (Đạt), C picks CĐ then C… in turn.
  function plain(text) {
    return String(text).normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[đĐ]/g, "d").toLowerCase();
  }
  table.addEventListener("keydown", function (event) {
    var el = event.target;
    // The month's attendance: Delete or Backspace on a day marks the student present again.
    if (config.kind === "absences_month" && el.matches("select") && (event.key === "Delete" || event.key === "Backspace")) {
      event.preventDefault();
      if (el.value) { el.value = ""; el.dispatchEvent(new Event("change", { bubbles: true })); }
      return;
    }
    if (!el.matches("select") || event.key.length !== 1 || event.ctrlKey || event.metaKey || event.altKey) return;
    var key = plain(event.key), options = Array.prototype.slice.call(el.options);
    var start = el.selectedIndex;
    for (var step = 1; step <= options.length; step++) {
      var option = options[(start + step) % options.length];
      if (option.value && plain(option.text).indexOf(key) === 0) {
        event.preventDefault();
        el.value = option.value;
        el.dispatchEvent(new Event("change", { bubbles: true }));
        return;
      }
    }
  });
  // Enter moves down the column (a select, a text box or a comment: a comment takes no line break), past the locked rows; a field named by data-field /
  // data-code (the year-end decisions: several per cell) moves to the same field of the next row that has it.
  function same(el) {
    if (!el.dataset.field) return null;
    return "[data-field='" + el.dataset.field + "']" + (el.dataset.code ? "[data-code='" + el.dataset.code + "']" : "");
  }
  table.addEventListener("keydown", function (event) {
    var el = event.target;
    if (event.key !== "Enter" || !el.matches("select, input[type=text], input[type=checkbox], textarea")) return;
    event.preventDefault();
    var td = el.closest("td"), tr = el.closest("tr"), selector = same(el);
    var index = Array.prototype.indexOf.call(tr.cells, td);
    var step = event.shiftKey ? "previousElementSibling" : "nextElementSibling";
    var next = tr[step], target = null;
    for (; next && !target; next = next[step]) {
      if (locked(next) || !next.cells[index]) continue;
      target = selector ? next.querySelector(selector) : next.cells[index].querySelector("select, input, textarea");
    }
    if (target) { target.focus(); if (target.select) target.select(); }
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirtyRows().length || saving) {
      event.preventDefault();
      event.returnValue = M.leave;
      return M.leave;
    }
  });

  // The principal's year-end decisions: one entry per changed row with only what changed in it.
  function decisionEntry(tr) {
    var entry = { student: parseInt(tr.dataset.student, 10) };
    fields(tr).forEach(function (el) {
      if (!changed(el)) return;
      var name = el.dataset.field, code = el.dataset.code;
      if (name === "retest" || name === "followup_level") {
        var key = name === "retest" ? "retest" : "followup_levels";
        entry[key] = entry[key] || {};
        entry[key][code] = el.value.trim();
      } else if (name === "chosen") {
        entry.retest_chosen = fields(tr).filter(function (f) { return f.dataset.field === "chosen" && f.checked; })
          .map(function (f) { return f.dataset.code; });
      } else if (name === "summer_training") {
        entry.summer_training = el.value === "passed" ? true : el.value === "failed" ? false : null;
      } else if (name === "exemplary") {
        entry.exemplary = el.checked;
      } else {
        entry[name] = el.value.trim();
      }
    });
    return entry;
  }

  function payload() {
    if (config.kind === "yearend") {
      var sentY = dirtyRows();
      return { body: { entries: sentY.map(decisionEntry) }, rows: sentY };
    }
    if (config.kind === "qualities") {
      // One entry per changed quality or competency: its level, and its comment where the page has one.
      var items = [], sentQ = [], missing = false;
      dirtyRows().forEach(function (tr) {
        var codes = [];
        fields(tr).forEach(function (el) { if (changed(el) && codes.indexOf(el.dataset.code) < 0) codes.push(el.dataset.code); });
        codes.forEach(function (code) {
          var level = tr.querySelector("select[data-code='" + code + "']");
          var text = tr.querySelector("[name=text][data-code='" + code + "']");
          var entry = { student: parseInt(tr.dataset.student, 10), code: code, level: level ? level.value : "" };
          if (text) {
            if (!entry.level && text.value) { rowMessage(tr, M.need_level); missing = true; return; }
            entry.text = text.value;
          }
          items.push(entry);
        });
        sentQ.push(tr);
      });
      return missing ? null : { body: { entries: items }, rows: sentQ };
    }
    if (config.kind === "absences_month") {
      // The month's grid: one mark per changed day ("P", "K" or "" — present), the day in its data-code.
      var marks = [], sentM = [];
      dirtyRows().forEach(function (tr) {
        fields(tr).forEach(function (el) {
          if (changed(el)) marks.push({ student: parseInt(tr.dataset.student, 10), date: el.dataset.code, mark: el.value });
        });
        sentM.push(tr);
      });
      return { body: { marks: marks }, rows: sentM };
    }
    if (config.kind === "conduct") {
      var bad = false;
      var entries = [], sentRows = [];
      dirtyRows().forEach(function (tr) {
        var level = field(tr, "level").value, text = field(tr, "text").value;
        if (!level) { rowMessage(tr, M.need_level); bad = true; return; }
        entries.push({ student: parseInt(tr.dataset.student, 10), level: level, text: text });
        sentRows.push(tr);
      });
      return bad ? null : { body: { entries: entries }, rows: sentRows };
    }
    // Attendance: the whole day of the class is replaced, so every absent student of the page is sent.
    var list = [], sent = [];
    rows.forEach(function (tr) {
      if (locked(tr) || !field(tr, "absent").checked) return;
      list.push({ student: parseInt(tr.dataset.student, 10), excused: field(tr, "excused").checked,
                  reason: field(tr, "reason").value });
      sent.push(tr);
    });
    return { body: { date: config.date, entries: list }, rows: sent };
  }

  function save() {
    if (saving) return;
    if (!dirtyRows().length) { setStatus(M.nothing, ""); return; }
    var data = payload();
    if (!data) { refresh(); setStatus(M.need_level, "bad"); return; }
    saving = true;
    saveButton.disabled = true;
    retryButton.hidden = true;
    setStatus(M.saving, "");
    fetch(config.api, {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": csrfInput ? csrfInput.value : "", "X-Requested-With": "XMLHttpRequest",
                 "X-HocBa-Page": "1" },
      body: JSON.stringify(data.body)
    }).then(function (response) {
      return response.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        return { status: response.status, body: body || {} };
      });
    }).then(function (result) {
      saving = false;
      var body = result.body;
      if (result.status === 200) {
        rows.forEach(function (tr) { rowMessage(tr, ""); });
        if (config.kind === "absences" || config.reload) {
          var url = new URL(window.location.href);
          if (config.date) url.searchParams.set("date", config.date);
          url.searchParams.set("saved", String(body.count || 0));
          rows.forEach(function (tr) {
            Array.prototype.forEach.call(tr.querySelectorAll("[data-original]"), function (el) { el.dataset.original = current(el); });
          });
          window.location.assign(url.toString());
          return;
        }
        data.rows.forEach(function (tr) {
          Array.prototype.forEach.call(tr.querySelectorAll("[data-original]"), function (el) { el.dataset.original = current(el); });
        });
        refresh();
        setStatus(fmt(M.saved, { n: body.count || 0 }), "ok");
        return;
      }
      if (result.status === 400 && body.errors) {
        rows.forEach(function (tr) { rowMessage(tr, ""); });
        body.errors.forEach(function (error) {
          var tr = (config.kind === "conduct" && data.rows[error.index]) || rows.filter(function (r) { return r.dataset.student === String(error.student); })[0];
          if (!tr) return;
          rowMessage(tr, errorText(error), true);
          if (error.field) markCell(tr, error.field, errorText(error));
        });
        refresh();
        setStatus(fmt(M.invalid, { n: body.errors.length }), "bad");
        return;
      }
      refresh();
      if (body.detail) setStatus(fmt(M.refused, { detail: body.detail }), "bad");
      else setStatus(fmt(M.server_error, { status: result.status }), "bad");
      retryButton.hidden = false;
    }).catch(function () {
      saving = false;
      refresh();
      setStatus(M.offline, "bad");
      retryButton.hidden = false;
    });
  }

  var form = table.closest("form");
  if (form) {  // a page whose form also works without JavaScript: the same keys save through the API here
    form.addEventListener("submit", function (event) { event.preventDefault(); save(); });
  } else {
    saveButton.addEventListener("click", save);
  }
  retryButton.addEventListener("click", save);
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && (event.key === "s" || event.key === "S")) {
      event.preventDefault();
      save();
    }
  });
  refresh();
})();
