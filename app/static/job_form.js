// The job form shows the best-value weights and the beacon label only where they apply.
(function () {
  var method = document.getElementById("f-method"), beacon = document.getElementById("f-beacon_source");
  function sync() {
    document.getElementById("best-value-params").style.display = method.value === "best_value" ? "" : "none";
    document.getElementById("beacon-label").style.display = beacon.value === "manual" ? "" : "none";
  }
  method.addEventListener("change", sync); beacon.addEventListener("change", sync); sync();
})();
