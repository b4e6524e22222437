// The live countdown to a quote deadline (marketplace/jobs/_countdown.html); CSP allows no inline script.
(function () {
  var els = document.querySelectorAll(".countdown[data-deadline]");
  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function tick() {
    els.forEach(function (el) {
      var ms = Date.parse(el.getAttribute("data-deadline")) - Date.now();
      if (isNaN(ms)) { return; }
      if (ms <= 0) { el.textContent = "(" + el.getAttribute("data-ended") + ")"; return; }
      var s = Math.floor(ms / 1000), d = Math.floor(s / 86400); s -= d * 86400;
      var h = Math.floor(s / 3600); s -= h * 3600; var m = Math.floor(s / 60); s -= m * 60;
      el.textContent = "(" + el.getAttribute("data-fmt").replace("{d}", d).replace("{h}", pad(h))
        .replace("{m}", pad(m)).replace("{s}", pad(s)) + ")";
    });
  }
  tick(); setInterval(tick, 1000);
})();
