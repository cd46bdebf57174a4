/* The grade entry page (schools/sheet_entry.html): keyboard navigation, live averages, changed-cell
 * marks, one PUT for the whole sheet, cell errors from the server, retry on a lost connection.
 *
 * A bad cell says why at the cell as soon as it is typed (a short note under it, the whole message on focus,
 * aria-invalid + aria-describedby), its row's results read "?" with the blocking cell in their title, the bar
 * counts the bad cells, and a save with bad cells is refused here with the focus on the first one (the server
 * refuses them too). Comments are text boxes that grow with their text (comments.js counts the characters).
 *
 * The server is the authority: what it returns after a save replaces every value and result shown.
 * The live averages only mirror the rule set's numbers handed over in #sheet-config (TT22:
 * ĐTBmhk = (ΣĐĐGtx + 2·ĐĐGgk + 3·ĐĐGck) / (n_tx + 5), half up to one decimal), computed in integer
 * tenths so that no binary fraction can round the wrong way.
 */
(function () {
  "use strict";

  var configNode = document.getElementById("sheet-config");
  var table = document.getElementById("sheet");
  if (!configNode) return;
  var config = JSON.parse(configNode.textContent);
  var M = config.messages || {};
  var rules = config.rules;

  // A cell or row error in the page's language: the server sends both (detail, detail_en).
  var english = (document.documentElement.lang || "").slice(0, 2) === "en";
  function errorText(error) {
    return english && error.detail_en ? error.detail_en : error.detail;
  }

  var subjectSelect = document.getElementById("sheet-subject");
  if (subjectSelect) {
    subjectSelect.addEventListener("change", function () {
      var url = subjectSelect.getAttribute("data-url-template").replace("/sheets/0/", "/sheets/" + subjectSelect.value + "/");
      window.location.assign(url);
    });
  }
  if (!table || !config.editable) return;

  var saveButton = document.getElementById("sheet-save");
  var retryButton = document.getElementById("sheet-retry");
  var statusNode = document.getElementById("sheet-status");
  var errorsBox = document.getElementById("sheet-errors");
  var errorsSummary = document.getElementById("sheet-errors-summary");
  var errorsList = document.getElementById("sheet-errors-list");
  var csrfInput = document.querySelector("input[name=csrfmiddlewaretoken]");

  var RETRY_DELAYS = [2, 5, 10];  // seconds between automatic retries after a network failure
  var TIMEOUT_MS = 120000;        // a slow connection may take long; give up on one attempt after two minutes
  var saving = false;
  var retryTimer = null;

  function fmt(message, params) {
    return String(message || "").replace(/%\((\w+)\)s/g, function (_m, key) {
      return params && params[key] !== undefined ? String(params[key]) : "";
    });
  }

  // ---- the grid ---------------------------------------------------------------------------------
  var CELL = "td.cell input, td.cell textarea";  // a comment cell is a text box that grows with its text
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var grid = rows.map(function (tr) {
    return Array.prototype.slice.call(tr.querySelectorAll(CELL));
  });
  var inputs = [];
  grid.forEach(function (row) { row.forEach(function (input) { inputs.push(input); }); });
  var byKey = {};
  inputs.forEach(function (input) { byKey[input.dataset.student + ":" + input.dataset.column] = input; });
  var rowOfStudent = {};
  rows.forEach(function (tr, i) { rowOfStudent[tr.dataset.student] = i; });

  function editable(input) { return input && !input.readOnly && !input.disabled; }
  function position(input) {
    for (var r = 0; r < grid.length; r++) {
      var c = grid[r].indexOf(input);
      if (c >= 0) return [r, c];
    }
    return null;
  }
  function focusCell(input) {
    if (!input) return false;
    input.focus();
    input.select();
    return true;
  }
  function vertical(r, c, step) {
    for (var i = r + step; i >= 0 && i < grid.length; i += step) {
      if (editable(grid[i][c])) return grid[i][c];
    }
    return null;
  }
  function horizontal(r, c, step, wrap) {
    var i = r, j = c + step;
    while (i >= 0 && i < grid.length) {
      while (j >= 0 && j < grid[i].length) {
        if (editable(grid[i][j])) return grid[i][j];
        j += step;
      }
      if (!wrap) return null;
      i += step;
      if (i < 0 || i >= grid.length) return null;
      j = step > 0 ? 0 : grid[i].length - 1;
    }
    return null;
  }

  table.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches(CELL)) return;
    var pos = position(input);
    if (!pos) return;
    var r = pos[0], c = pos[1], target = null, handled = true;
    var length = input.value.length;
    var allSelected = input.selectionStart === 0 && input.selectionEnd === length;
    // In a comment of several lines ↑ and ↓ move between its lines; they leave the cell from its first / last line.
    var multiline = input.tagName === "TEXTAREA" && !allSelected;
    switch (event.key) {
      case "ArrowUp":
        if (multiline && input.selectionEnd > 0) handled = false;
        else target = vertical(r, c, -1);
        break;
      case "ArrowDown":
        if (multiline && input.selectionStart < length) handled = false;
        else target = vertical(r, c, 1);
        break;
      case "Enter": target = vertical(r, c, event.shiftKey ? -1 : 1); break;
      case "ArrowLeft":
        if (allSelected || (input.selectionStart === 0 && input.selectionEnd === 0)) target = horizontal(r, c, -1, false);
        else handled = false;
        break;
      case "ArrowRight":
        if (allSelected || input.selectionStart === length) target = horizontal(r, c, 1, false);
        else handled = false;
        break;
      case "Tab":
        target = horizontal(r, c, event.shiftKey ? -1 : 1, true);
        handled = target !== null;  // past the last cell, Tab leaves the sheet as usual
        break;
      case "Escape":
        if (input.value !== input.dataset.original) {
          input.value = input.dataset.original;
          changed(input);
        }
        break;
      default: handled = false;
    }
    if (handled) {
      event.preventDefault();
      focusCell(target);
    }
  });
  table.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches(CELL)) event.target.select();
  });
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && (event.key === "s" || event.key === "S")) {
      event.preventDefault();
      save();
    }
  });

  // ---- values and live results ------------------------------------------------------------------
  var PASS = { "Đ": "D", "D": "D", "ĐẠT": "D", "DAT": "D", "CĐ": "CD", "CD": "CD", "CHƯA ĐẠT": "CD", "CHUA DAT": "CD" };

  /* Tenths of a score ("7,5" → 75), null when empty, NaN when not a valid 0–10 score with one decimal. */
  function tenths(text) {
    var s = String(text || "").trim();
    if (!s) return null;
    var m = /^(\d{0,2})(?:[.,](\d*))?$/.exec(s);
    if (!m || (m[1] === "" && !m[2])) return NaN;
    var frac = m[2] || "";
    if (frac.length > 1 && /[^0]/.test(frac.slice(1))) return NaN;
    var value = parseInt(m[1] || "0", 10) * 10 + (frac ? parseInt(frac.charAt(0), 10) : 0);
    return value > 100 ? NaN : value;
  }
  function showTenths(value) { return Math.floor(value / 10) + "," + (value % 10); }
  function verdict(text) {
    var s = String(text || "").trim().toUpperCase().replace(/\s+/g, " ");
    if (!s) return null;
    return PASS.hasOwnProperty(s) ? PASS[s] : undefined;
  }
  var LETTERS = /^(T|H|C|K|Đ|D|CĐ|CD|ĐẠT|DAT|CHƯA ĐẠT|CHUA DAT|TỐT|KHÁ)$/;
  function problem(short, why, rule, params) {
    return { short: short, full: (why ? fmt(why, params) + " " : "") + rule };
  }
  /* What is wrong with a typed value, judged as the server will: {short (under the cell), full} or null. A value
   * the server sent (unchanged) is never judged here. The server decides, and its message replaces this one. */
  function problemOf(input) {
    if (!editable(input) || input.value === input.dataset.original) return null;
    var value = input.value.trim();
    if (!value) return null;
    var params = { value: value, n: input.value.length, max: input.maxLength };
    var upper = value.toUpperCase().replace(/\s+/g, " ");
    switch (input.dataset.type) {
      case "score":
      case "test":
        var integer = input.dataset.type === "test";
        var rule = integer ? M.bad_test : M.bad_score;
        if (LETTERS.test(upper)) return problem(M.short_letter, M.why_letter, rule, params);
        if (!/^\d*(?:[.,]\d*)?$/.test(value) || !/\d/.test(value)) return problem(M.short_nan, M.why_nan, rule, params);
        var number = parseFloat(value.replace(",", "."));
        if (number > 10) return problem(M.short_high, M.why_high, rule, params);
        if (integer) return /^(10|\d)([.,]0?)?$/.test(value) ? null : problem(M.short_integer, M.why_not_integer, rule, params);
        return isNaN(tenths(value)) ? problem(M.short_decimals, M.why_decimals, rule, params) : null;
      case "passfail": return verdict(value) === undefined ? problem(M.short_passfail, M.why_value, M.bad_passfail, params) : null;
      case "level": return /^[THC]$/i.test(value) ? null : problem(M.short_level, M.why_value, M.bad_level, params);
      case "text": return input.maxLength > 0 && input.value.length > input.maxLength ? problem(M.short_long, M.why_long, "", params) : null;
      default: return null;
    }
  }
  function columnLabel(key) {
    for (var i = 0; i < config.columns.length; i++) if (config.columns[i].key === key) return config.columns[i].label;
    return key;
  }
  /* Half up to one decimal of numerator / denominator, both in tenths-compatible integers (≥ 0). */
  function roundedTenths(numerator, denominator) { return Math.floor((2 * numerator + denominator) / (2 * denominator)); }

  /* The row's term result: its text, "" while cells are missing, {blocked: input} when a bad cell stops it. */
  function termResult(r) {
    if (!rules) return null;
    var tx = [], gk = null, ck = null, i, missing = false;
    var values = {}, cellOf = {};
    grid[r].forEach(function (input) { values[input.dataset.column] = input.value; cellOf[input.dataset.column] = input; });
    var columns = config.columns;
    if (config.grading === "score") {
      for (i = 0; i < columns.length; i++) {
        var col = columns[i];
        if (col.type !== "score") continue;
        var v = tenths(values[col.key]);
        if (v !== null && isNaN(v)) return { blocked: cellOf[col.key] };
        if (v === null) { missing = true; continue; }
        if (col.kind === "tx") tx.push(v); else if (col.kind === "gk") gk = v; else if (col.kind === "ck") ck = v;
      }
      if (missing || tx.length !== rules.regular_count || gk === null || ck === null) return "";
      var sum = tx.reduce(function (a, b) { return a + b; }, 0);
      var total = rules.regular_weight * sum + rules.midterm_weight * gk + rules.final_weight * ck;
      var weight = rules.regular_weight * rules.regular_count + rules.midterm_weight + rules.final_weight;
      return showTenths(roundedTenths(total, weight));
    }
    if (config.grading === "comment") {
      var all = true;
      for (i = 0; i < columns.length; i++) {
        if (columns[i].type !== "passfail") continue;
        var p = verdict(values[columns[i].key]);
        if (p === undefined) return { blocked: cellOf[columns[i].key] };
        if (!p) { missing = true; continue; }
        if (p !== "D") all = false;
      }
      return missing ? "" : all ? "Đ" : "CĐ";
    }
    return null;
  }
  function yearResult(term1, term2) {
    if (config.grading === "comment") return term2 || "";  // the year of a comment-graded subject is term II
    if (!term1 || !term2) return "";
    var a = tenths(term1), b = tenths(term2);
    if (a === null || b === null || isNaN(a) || isNaN(b)) return "";
    var w1 = rules.semester_i_weight, w2 = rules.semester_ii_weight;
    return showTenths(roundedTenths(w1 * a + w2 * b, w1 + w2));
  }
  function computedCells(r) {
    var cells = {};
    Array.prototype.forEach.call(rows[r].querySelectorAll("td.computed"), function (td) { cells[td.dataset.computed] = td; });
    return cells;
  }
  function setComputed(td, value) {
    if (!td) return;
    td.textContent = value;
    td.classList.toggle("live", value !== td.dataset.server);
    td.classList.remove("blocked");
    td.removeAttribute("title");
    td.removeAttribute("aria-label");
  }
  /* "?" instead of a result that a bad cell stops, never an empty cell: the title names the cell. */
  function setBlocked(td, input) {
    if (!td) return;
    var why = fmt(M.blocked, { cell: columnLabel(input.dataset.column), value: input.value.trim() });
    td.textContent = "?";
    td.classList.add("live", "blocked");
    td.title = why;
    td.setAttribute("aria-label", why);
  }
  function recompute(r) {
    var live = termResult(r);
    if (live === null) return;
    var cells = computedCells(r);
    var term = config.term;
    var own = cells["term" + term];
    var other = cells["term" + (3 - term)];
    if (typeof live === "object") {  // the year needs this term's result: stopped by the same cell
      setBlocked(own, live.blocked);
      setBlocked(cells.year, live.blocked);
      return;
    }
    setComputed(own, live);
    var otherValue = other ? other.dataset.server : "";
    if (otherValue && otherValue === config.exempt_mark) {  // exempt in the other term: the year is this term's
      setComputed(cells.year, live);
      return;
    }
    setComputed(cells.year, term === 1 ? yearResult(live, otherValue) : yearResult(otherValue, live));
  }

  // ---- changed cells ----------------------------------------------------------------------------
  function dirtyInputs() { return inputs.filter(function (input) { return editable(input) && input.value !== input.dataset.original; }); }
  function invalidInputs() { return inputs.filter(function (input) { return !!problemOf(input); }); }
  function cellMessage(input) {  // the whole message of a bad cell, shown on focus, and the input's description
    var td = input.parentNode, msg = td.querySelector(".cell-msg");
    if (!msg) {
      msg = document.createElement("span");
      msg.className = "cell-msg";
      msg.id = "cell-msg-" + input.dataset.student + "-" + input.dataset.column;
      td.appendChild(msg);
    }
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", msg.id);
    return msg;
  }
  function clearCellError(input) {
    var td = input.parentNode;
    td.classList.remove("error");
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
    var msg = td.querySelector(".cell-msg");
    if (msg) td.removeChild(msg);
  }
  function markCell(input, cls, message) {
    input.parentNode.classList.add(cls);
    cellMessage(input).textContent = message;
  }
  /* The typed value's own problem at the cell: a short note under it (always visible), the whole message on focus
   * and as the input's description. A server's message for the cell stays until the cell changes. */
  function showProblem(input) {
    var td = input.parentNode, found = problemOf(input), note = td.querySelector(".cell-note");
    td.classList.toggle("warn", !!found);
    if (found) {
      if (!note) {
        note = document.createElement("span");
        note.className = "cell-note";
        note.setAttribute("aria-hidden", "true");  // the input's description holds the whole message
        td.appendChild(note);
      }
      note.textContent = found.short;
      if (!td.classList.contains("error")) cellMessage(input).textContent = found.full;
      input.title = found.full;
      return;
    }
    if (note) td.removeChild(note);
    if (!td.classList.contains("error")) clearCellError(input);
    input.removeAttribute("title");
  }
  function remeasure(input) {  // a comment box set by this script: its height and character count (comments.js)
    if (input.tagName === "TEXTAREA" && window.HocBaComments) window.HocBaComments.refresh(input);
  }
  function changed(input) {
    var td = input.parentNode;
    remeasure(input);
    td.classList.toggle("dirty", input.value !== input.dataset.original);
    if (td.classList.contains("error")) clearCellError(input);
    showProblem(input);
    var pos = position(input);
    if (pos) recompute(pos[0]);
    refreshStatus();
  }
  table.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches(CELL)) changed(event.target);
  });

  function setStatus(text, kind) {
    statusNode.textContent = text || "";
    statusNode.className = "sheet-status" + (kind ? " " + kind : "");
  }
  var invalidNode = document.getElementById("sheet-invalid");
  function refreshStatus() {
    var n = dirtyInputs().length;
    if (saveButton) saveButton.disabled = saving || n === 0;
    if (invalidNode) {
      var bad = invalidInputs().length;
      invalidNode.hidden = bad === 0;
      invalidNode.textContent = bad ? fmt(M.invalid_count, { n: bad }) : "";
    }
    if (saving || retryTimer) return;
    if (n) setStatus(fmt(M.dirty, { n: n }), "dirty");
    else if (statusNode.classList.contains("dirty")) setStatus(M.clean, "ok");
  }

  window.addEventListener("beforeunload", function (event) {
    if (dirtyInputs().length || saving) {
      event.preventDefault();
      event.returnValue = M.leave;
      return M.leave;
    }
  });

  // ---- errors from the server -------------------------------------------------------------------
  function hideErrors() {
    errorsBox.hidden = true;
    errorsList.textContent = "";
  }
  function showErrors(summary, errors) {
    errorsSummary.textContent = summary;
    errorsList.textContent = "";
    (errors || []).forEach(function (error) {
      var input = byKey[error.student + ":" + error.column];
      var li = document.createElement("li");
      li.appendChild(document.createTextNode(errorText(error) + " "));
      if (input) {
        markCell(input, "error", errorText(error));
        var go = document.createElement("button");
        go.type = "button";
        go.className = "link";
        go.textContent = M.go_to_cell;
        go.addEventListener("click", function () { focusCell(input); });
        li.appendChild(go);
      }
      errorsList.appendChild(li);
    });
    errorsBox.hidden = false;
  }

  // ---- saving -----------------------------------------------------------------------------------
  function applySheet(sheet, sent) {
    (sheet.rows || []).forEach(function (row) {
      var r = rowOfStudent[String(row.student)];
      if (r === undefined) return;
      grid[r].forEach(function (input) {
        var key = input.dataset.column;
        var server = row.values && row.values[key] !== undefined ? row.values[key] : "";
        var typedDuringSave = sent.hasOwnProperty(input.dataset.student + ":" + key)
          ? input.value !== sent[input.dataset.student + ":" + key]
          : input.value !== input.dataset.original;
        input.dataset.original = server;
        if (!typedDuringSave) input.value = server;  // the server's spelling (8 → 8,0; d → Đ)
        changedQuietly(input);
      });
      var cells = computedCells(r);
      Object.keys(cells).forEach(function (key) {
        var value = row.computed && row.computed[key] !== undefined ? row.computed[key] : "";
        cells[key].dataset.server = value;
        setComputed(cells[key], value);
      });
      if (grid[r].some(function (input) { return input.value !== input.dataset.original; })) recompute(r);
    });
  }
  function changedQuietly(input) {
    remeasure(input);
    input.parentNode.classList.toggle("dirty", input.value !== input.dataset.original);
    showProblem(input);
  }
  function finish() {
    saving = false;
    table.removeAttribute("aria-busy");
    refreshStatus();
  }
  function scheduleRetry(attempt) {
    if (attempt >= RETRY_DELAYS.length) {
      setStatus(M.offline_final, "bad");
      retryButton.hidden = false;
      return;
    }
    var seconds = RETRY_DELAYS[attempt];
    setStatus(fmt(M.offline, { s: seconds }), "bad");
    retryButton.hidden = false;
    retryTimer = window.setTimeout(function () {
      retryTimer = null;
      save(attempt + 1);
    }, seconds * 1000);
  }

  function save(attempt) {
    attempt = typeof attempt === "number" ? attempt : 0;
    if (saving) return;
    if (retryTimer) { window.clearTimeout(retryTimer); retryTimer = null; }
    var dirty = dirtyInputs();
    if (!dirty.length) { refreshStatus(); return; }
    var bad = invalidInputs();
    if (bad.length) {  // refused here: the server would refuse the whole sheet; the focus goes to the first bad cell
      refreshStatus();
      setStatus(fmt(M.invalid_local, { n: bad.length }), "bad");
      focusCell(bad[0]);
      return;
    }
    var sent = {};
    var cells = dirty.map(function (input) {
      sent[input.dataset.student + ":" + input.dataset.column] = input.value;
      return { student: parseInt(input.dataset.student, 10), column: input.dataset.column, value: input.value };
    });
    saving = true;
    retryButton.hidden = true;
    saveButton.disabled = true;
    table.setAttribute("aria-busy", "true");
    setStatus(M.saving, "");
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? window.setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    fetch(config.api, {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": csrfInput ? csrfInput.value : "", "X-Requested-With": "XMLHttpRequest",
                 "X-HocBa-Page": "1" },
      body: JSON.stringify({ cells: cells }),
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (timer) window.clearTimeout(timer);
      return response.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        return { status: response.status, body: body };
      });
    }).then(function (result) {
      finish();
      var body = result.body || {};
      if (result.status === 200 && body.sheet) {
        hideErrors();
        inputs.forEach(clearCellError);
        applySheet(body.sheet, sent);
        setStatus(body.written || body.cleared ? fmt(M.saved, { n: (body.written || 0) + (body.cleared || 0) }) : M.saved_none, "ok");
        refreshStatus();
        return;
      }
      if (result.status === 400 && body.errors) {
        inputs.forEach(clearCellError);
        showErrors(fmt(M.invalid, { n: body.errors.length }), body.errors);
        inputs.forEach(function (input) { if (!input.parentNode.classList.contains("error")) showProblem(input); });
        setStatus(fmt(M.invalid, { n: body.errors.length }), "bad");
        var first = byKey[body.errors[0].student + ":" + body.errors[0].column];
        if (first) focusCell(first);
        return;
      }
      if (result.status === 502 || result.status === 503 || result.status === 504) {
        scheduleRetry(attempt);
        return;
      }
      if ((result.status === 401 || result.status === 403) && !body.detail) {
        setStatus(M.session, "bad");
        retryButton.hidden = false;
        return;
      }
      if (body.detail) {
        showErrors(fmt(M.refused, { detail: body.detail }), []);
        setStatus(fmt(M.refused, { detail: body.detail }), "bad");
        retryButton.hidden = false;
        return;
      }
      setStatus(fmt(M.server_error, { status: result.status }), "bad");
      retryButton.hidden = false;
    }).catch(function () {
      if (timer) window.clearTimeout(timer);
      finish();
      scheduleRetry(attempt);
    });
  }

  if (saveButton) saveButton.addEventListener("click", function () { save(0); });
  if (retryButton) retryButton.addEventListener("click", function () { save(0); });
  refreshStatus();
})();
