/* Horizontal SVG bar charts drawn from data embedded in the page (no library).
 *
 * The page holds <script type="application/json" id="report-data"> with
 *   {"charts": {"<name>": {"title", "unit", "max", "bars": [{"label", "value", "text"}]}, "empty": "..."}}
 * and one <div class="chart" data-chart="<name>"> per chart. Labels and texts
 * arrive already translated, so this file holds no words of its own.
 */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var WIDTH = 720, LABEL_W = 220, VALUE_W = 80, ROW_H = 28, BAR_H = 18, TOP = 8;

  function el(name, attrs, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function shorten(label, max) {
    return label.length > max ? label.slice(0, max - 1) + "\u2026" : label;
  }

  function draw(container, chart, emptyText, index) {
    var bars = (chart && chart.bars) || [];
    var heading = document.createElement("h3");
    heading.textContent = chart ? chart.title : "";
    heading.id = "chart-title-" + index;
    container.appendChild(heading);
    if (!bars.length) {
      var p = document.createElement("p");
      p.className = "empty";
      p.textContent = emptyText || "";
      container.appendChild(p);
      return;
    }
    var top = chart.max || 0;
    bars.forEach(function (b) { top = Math.max(top, Number(b.value) || 0); });
    if (top <= 0) { top = 1; }
    var plotW = WIDTH - LABEL_W - VALUE_W;
    var height = TOP * 2 + bars.length * ROW_H;
    var svg = el("svg", {viewBox: "0 0 " + WIDTH + " " + height, role: "img",
                         "aria-labelledby": heading.id, preserveAspectRatio: "xMinYMin meet"});
    bars.forEach(function (b, i) {
      var y = TOP + i * ROW_H;
      var value = Math.max(0, Number(b.value) || 0);
      var w = Math.round(plotW * value / top * 10) / 10;
      var row = el("g", {"class": "row"});
      var label = el("text", {x: LABEL_W - 8, y: y + BAR_H - 4, "text-anchor": "end"}, shorten(String(b.label), 26));
      label.appendChild(el("title", {}, String(b.label)));
      row.appendChild(label);
      row.appendChild(el("rect", {"class": "track", x: LABEL_W, y: y, width: plotW, height: BAR_H, rx: 3}));
      var bar = el("rect", {"class": "bar" + (index % 2 ? " alt" : ""), x: LABEL_W, y: y, width: w, height: BAR_H, rx: 3});
      bar.appendChild(el("title", {}, String(b.label) + ": " + String(b.text)));
      row.appendChild(bar);
      row.appendChild(el("text", {"class": "value", x: LABEL_W + plotW + 6, y: y + BAR_H - 4}, String(b.text)));
      svg.appendChild(row);
    });
    container.appendChild(svg);
  }

  function init() {
    var source = document.getElementById("report-data");
    if (!source) { return; }
    var data;
    try { data = JSON.parse(source.textContent); } catch (e) { return; }
    var charts = (data && data.charts) || {};
    var nodes = document.querySelectorAll("[data-chart]");
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].textContent = "";
      draw(nodes[i], charts[nodes[i].getAttribute("data-chart")], charts.empty, i);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
