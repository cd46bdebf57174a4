/* Comment boxes of the school's entry pages (the grade sheet's comments, conduct, the TT27 qualities, the
 * homeroom teacher's year-end comments): a comment is never cut. Every <textarea data-counter> grows with its
 * text (CSS field-sizing where the browser has it, its scroll height otherwise) and shows how many characters it
 * holds against its maxlength while it has the focus or comes near the limit. data-counter holds the word for
 * "characters" in the page's language. */
(function () {
  "use strict";

  var sizedByCss = !!(window.CSS && CSS.supports && CSS.supports("field-sizing", "content"));

  function grow(box) {
    if (sizedByCss) return;
    box.style.height = "auto";
    box.style.height = box.scrollHeight + 2 + "px";
  }
  function counterOf(box) {
    var next = box.nextElementSibling;
    if (next && next.classList.contains("char-count")) return next;
    var counter = document.createElement("span");
    counter.className = "char-count";
    counter.setAttribute("aria-hidden", "true");  // the box's maxlength already tells assistive technology
    box.insertAdjacentElement("afterend", counter);
    return counter;
  }
  function count(box) {
    var max = box.maxLength > 0 ? box.maxLength : 0;
    if (!max) return;
    var n = box.value.length, counter = counterOf(box);
    counter.textContent = n + "/" + max + (box.dataset.counter ? " " + box.dataset.counter : "");
    counter.classList.toggle("near", n >= max * 0.9);
  }
  function refresh(box) {
    grow(box);
    count(box);
  }

  var boxes = Array.prototype.slice.call(document.querySelectorAll("textarea[data-counter]"));
  boxes.forEach(refresh);
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-counter]")) refresh(event.target);
  });
  // A value set by a script (the server's answer after a save) is measured again on the next focus or resize.
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-counter]")) refresh(event.target);
  });
  window.addEventListener("resize", function () { boxes.forEach(grow); });
  window.HocBaComments = { refresh: refresh };
})();
