// Forms and buttons with data-confirm ask before submitting (irreversible actions). Listening in the capture
// phase, it asks before any form's own handler (the sealed quote form seals only once confirmed); a refusal
// stops the submission there.
document.addEventListener("submit", function (e) {
  var el = e.submitter && e.submitter.hasAttribute("data-confirm") ? e.submitter : e.target;
  var msg = el.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) { e.preventDefault(); e.stopImmediatePropagation(); }
}, true);
