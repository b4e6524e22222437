// Forms and buttons with data-confirm ask before submitting (irreversible actions).
document.addEventListener("submit", function (e) {
  var el = e.submitter && e.submitter.hasAttribute("data-confirm") ? e.submitter : e.target;
  var msg = el.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) { e.preventDefault(); }
});
