// The job form shows the best-value weights and the beacon label only where they apply.
(function () {
  var method = document.getElementById("f-method"), beacon = document.getElementById("f-beacon_source");
  function sync() {
    document.getElementById("best-value-params").style.display = method.value === "best_value" ? "" : "none";
    document.getElementById("beacon-label").style.display = beacon.value === "manual" ? "" : "none";
  }
  method.addEventListener("change", sync); beacon.addEventListener("change", sync); sync();
})();
// The catalogue item select offers only the items of the chosen category and shows the item's level floor
// (without JS every item is offered, grouped by category, and the server checks the choice).
(function () {
  var cat = document.getElementById("f-category_code"), item = document.getElementById("f-item_code");
  var floor = document.getElementById("item-floor-level");
  if (!cat || !item) return;
  function sync() {
    var groups = item.getElementsByTagName("optgroup");
    for (var i = 0; i < groups.length; i++) {
      var show = !cat.value || groups[i].getAttribute("data-category") === cat.value;
      groups[i].hidden = !show; groups[i].disabled = !show;
    }
    var chosen = item.options[item.selectedIndex];
    if (chosen && chosen.value && cat.value && chosen.getAttribute("data-category") !== cat.value) {
      item.value = ""; chosen = item.options[item.selectedIndex];
    }
    if (floor) floor.textContent = chosen && chosen.value ? chosen.getAttribute("data-floor") : "";
  }
  cat.addEventListener("change", sync); item.addEventListener("change", sync); sync();
})();
