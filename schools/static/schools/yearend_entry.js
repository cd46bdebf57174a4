/* TT27 qualities and competencies of a class (yearend_qualities.html): every changed cell saved in one PUT
 * (PUT /api/v1/classes/<id>/qualities/<term>/<checkpoint>/), the server's row errors shown on their rows,
 * nothing typed lost when the connection fails; Ctrl+S saves, changed cells are marked. */
(function () {
  "use strict";

  var configNode = document.getElementById("entry-config");
  var table = document.getElementById("entry");
  if (!configNode || !table) return;
  var config = JSON.parse(configNode.textContent);
  var M = config.messages || {};
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
  function locked(tr) { return tr.classList.contains("locked"); }
  function fields(tr) { return Array.prototype.slice.call(tr.querySelectorAll("[data-original]")); }
  function changed(el) { return el.value !== el.dataset.original; }
  function codes(tr) {
    var out = [];
    fields(tr).forEach(function (el) {
      if (changed(el) && out.indexOf(el.dataset.code) < 0) out.push(el.dataset.code);
    });
    return out;
  }
  function rowDirty(tr) { return !locked(tr) && codes(tr).length > 0; }
  function dirtyRows() { return rows.filter(rowDirty); }
  function setStatus(text, kind) {
    statusNode.textContent = text || "";
    statusNode.className = "sheet-status" + (kind ? " " + kind : "");
  }
  function rowMessage(tr, text) {
    var holder = tr.querySelector(".row-msg");
    if (holder) holder.textContent = text ? " " + text : "";
    tr.classList.toggle("error", !!text);
  }
  function refresh() {
    rows.forEach(function (tr) {
      tr.classList.toggle("dirty", rowDirty(tr));
      fields(tr).forEach(function (el) { el.classList.toggle("changed", changed(el)); });
    });
    var n = dirtyRows().length;
    saveButton.disabled = saving || n === 0;
    if (saving) return;
    if (n) setStatus(fmt(M.dirty, { n: n }), "dirty");
    else if (statusNode.classList.contains("dirty")) setStatus(M.clean, "ok");
  }
  function onEdit(event) {
    var tr = event.target.closest("tr");
    if (tr) rowMessage(tr, "");
    refresh();
  }
  table.addEventListener("input", onEdit);
  table.addEventListener("change", onEdit);
  // Keyboard: a letter picks the level in a focused select (T, Đ/D, C), Enter moves down the column.
  table.addEventListener("keydown", function (event) {
    var el = event.target;
    if (event.key !== "Enter" || !el.matches("select, input")) return;
    event.preventDefault();
    var td = el.closest("td"), tr = el.closest("tr");
    var index = Array.prototype.indexOf.call(tr.cells, td);
    var next = tr.nextElementSibling;
    while (next && (locked(next) || !next.cells[index])) next = next.nextElementSibling;
    var target = next && next.cells[index].querySelector("select, input");
    if (target) target.focus();
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirtyRows().length || saving) {
      event.preventDefault();
      event.returnValue = M.leave;
      return M.leave;
    }
  });

  function payload() {
    var entries = [], bad = false;
    dirtyRows().forEach(function (tr) {
      codes(tr).forEach(function (code) {
        var level = tr.querySelector("select[data-code='" + code + "']");
        var text = tr.querySelector("input[name=text][data-code='" + code + "']");
        var entry = { student: parseInt(tr.dataset.student, 10), code: code, level: level ? level.value : "" };
        if (text) {
          if (!entry.level && text.value) { rowMessage(tr, M.need_level); bad = true; return; }
          entry.text = text.value;
        }
        entries.push(entry);
      });
    });
    return bad ? null : entries;
  }

  function save() {
    if (saving) return;
    if (!dirtyRows().length) { setStatus(M.nothing, ""); return; }
    var entries = payload();
    if (!entries) { refresh(); setStatus(M.need_level, "bad"); return; }
    var sent = dirtyRows();
    saving = true;
    saveButton.disabled = true;
    retryButton.hidden = true;
    setStatus(M.saving, "");
    fetch(config.api, {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": csrfInput ? csrfInput.value : "", "X-Requested-With": "XMLHttpRequest" },
      body: JSON.stringify({ entries: entries })
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
        sent.forEach(function (tr) {
          rowMessage(tr, "");
          fields(tr).forEach(function (el) { el.dataset.original = el.value; });
        });
        refresh();
        setStatus(fmt(M.saved, { n: body.count || 0 }), "ok");
        return;
      }
      if (result.status === 400 && body.errors) {
        body.errors.forEach(function (error) {
          var tr = rows.filter(function (r) { return r.dataset.student === String(error.student); })[0];
          if (tr) rowMessage(tr, error.detail);
        });
        refresh();
        setStatus(fmt(M.invalid, { n: body.errors.length }), "bad");
        return;
      }
      refresh();
      // 403, 423 (a window locks the data) and the other refusals carry their message.
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

  saveButton.addEventListener("click", save);
  retryButton.addEventListener("click", save);
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && (event.key === "s" || event.key === "S")) {
      event.preventDefault();
      save();
    }
  });
  refresh();
})();
