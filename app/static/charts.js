/* The savings dashboard's charts, drawn with the vendored Apache ECharts (/static/vendor/echarts/).
 *
 * The page holds <script type="application/json" id="report-data"> with
 *   {"charts": {"<name>": chart, ..., "empty": "..."}, "palette": ["#0072B2", ...]}
 * and one <div data-chart="<name>"> per chart. A chart is either
 *   {"title", "horizontal", "categories": [...], "category_name", "axes": [{"name", "unit"}],
 *    "series": [{"name", "type": "bar"|"line", "axis": 0|1, "data": [number|null], "text": [shown value]}]}
 * or the older bar list {"title", "unit", "max", "axis", "bars": [{"label", "value", "text"}]}.
 * Labels and texts arrive translated and formatted (the tables beside the charts hold the same figures),
 * so this file holds no words of its own. Charts follow their container's width (window resize and
 * ResizeObserver). Without ECharts (the file failed to load) simple SVG bars are drawn instead.
 */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var PALETTE = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#56B4E9", "#CC79A7"];
  var SYMBOLS = ["circle", "diamond", "triangle", "rect"];
  var charts = [];

  function fromBars(chart) {
    var bars = chart.bars || [];
    var unit = chart.unit === "%" ? "percent" : "count";
    return {
      title: chart.title, horizontal: true, category_name: "",
      categories: bars.map(function (b) { return String(b.label); }),
      axes: [{name: chart.axis || "", unit: unit, max: chart.max || null}],
      series: [{name: chart.axis || chart.title, type: "bar", axis: 0,
                data: bars.map(function (b) { return Number(b.value) || 0; }),
                text: bars.map(function (b) { return String(b.text); })}]
    };
  }

  function tick(unit) {
    return function (v) {
      if (unit === "percent") { return v + "%"; }
      if (unit === "money") { return Number(v).toLocaleString("en-US", {maximumFractionDigits: 0}); }
      return String(v);
    };
  }

  function escape(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"}[c];
    });
  }

  function heightFor(spec) {
    if (!spec.horizontal) { return 340; }
    var perRow = 14 + 14 * spec.series.length;
    return Math.max(220, 120 + spec.categories.length * perRow);
  }

  function option(spec, width, palette, font, showTitle) {
    var narrow = width < 520;
    var horizontal = !!spec.horizontal;
    var two = spec.axes.length > 1;
    var valueAxes = spec.axes.map(function (a, i) {
      return {
        type: "value", name: a.name, nameLocation: horizontal ? "middle" : "end", min: 0, max: a.max || null,
        nameGap: horizontal ? 26 : 12, position: horizontal ? (i ? "top" : "bottom") : (i ? "right" : "left"),
        splitNumber: narrow ? 3 : 5, interval: a.max === 100 ? (narrow ? 50 : 25) : null, splitLine: {show: i === 0},
        axisLabel: {formatter: tick(a.unit), hideOverlap: true, fontSize: narrow ? 10 : 12},
        nameTextStyle: {fontSize: narrow ? 11 : 12, color: "#1c2430",
                        align: horizontal ? "center" : (i ? "right" : "left")}
      };
    });
    var many = spec.categories.length > (narrow ? 4 : 8);
    var categoryAxis = {
      type: "category", data: spec.categories, inverse: horizontal,
      name: horizontal ? "" : spec.category_name, nameLocation: "middle", nameGap: many ? 52 : 30,
      axisTick: {alignWithLabel: true},
      axisLabel: {interval: 0, rotate: !horizontal && many ? 40 : 0, width: horizontal ? (narrow ? 96 : 180) : 80,
                  overflow: "truncate", fontSize: narrow ? 10 : 12, color: "#1c2430"},
      nameTextStyle: {fontSize: narrow ? 11 : 12, color: "#1c2430"}
    };
    var series = spec.series.map(function (s, i) {
      var out = {
        name: s.name, type: s.type, data: s.data, barMaxWidth: 26, color: palette[i % palette.length],
        emphasis: {focus: "series"}
      };
      out[horizontal ? "xAxisIndex" : "yAxisIndex"] = Math.min(s.axis || 0, spec.axes.length - 1);
      if (s.type === "line") {
        out.symbol = SYMBOLS[i % SYMBOLS.length];
        out.symbolSize = 9;
        out.lineStyle = {width: 2.5, type: i ? "dashed" : "solid"};
        out.connectNulls = false;
      }
      return out;
    });
    var titleHeight = showTitle ? (narrow ? 40 : 28) : 0;
    var legend = spec.series.length > 1;
    return {
      animation: false,
      // The page's font (ECharts measures labels with it, so they are laid out as they are drawn).
      textStyle: {fontFamily: font},
      title: {show: showTitle, text: spec.title, left: 0, top: 0,
              textStyle: {fontSize: narrow ? 13 : 15, fontWeight: 600, color: "#1c2430",
                          width: Math.max(120, width - 8), overflow: "break"}},
      legend: {show: legend, top: titleHeight, left: 0, itemGap: 18,
               textStyle: {fontSize: narrow ? 11 : 12, color: "#1c2430"}},
      grid: {left: horizontal ? 16 : 8, right: horizontal ? 24 : 8,
             top: titleHeight + (legend ? 30 : 4) + (horizontal ? (two ? 40 : 8) : 28),
             bottom: horizontal ? 34 : (spec.category_name ? 30 : 8), containLabel: true},
      tooltip: {
        trigger: "axis", confine: true, axisPointer: {type: "shadow"},
        formatter: function (items) {
          if (!items || !items.length) { return ""; }
          var index = items[0].dataIndex;
          var lines = ["<strong>" + escape(spec.categories[index]) + "</strong>"];
          items.forEach(function (item) {
            var s = spec.series[item.seriesIndex];
            lines.push(item.marker + escape(s.name) + ": " + escape(s.text ? s.text[index] : item.value));
          });
          return lines.join("<br>");
        }
      },
      xAxis: horizontal ? valueAxes : categoryAxis,
      yAxis: horizontal ? categoryAxis : valueAxes,
      series: series
    };
  }

  function drawFallback(container, spec, palette) {
    // Simple horizontal SVG bars of the first series (no library).
    var s = spec.series[0] || {data: [], text: []};
    var width = 720, labelW = 220, valueW = 110, rowH = 28, barH = 18;
    var top = 0;
    s.data.forEach(function (v) { top = Math.max(top, Number(v) || 0); });
    if (top <= 0) { top = 1; }
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + width + " " + (16 + spec.categories.length * rowH));
    svg.setAttribute("width", "100%");
    spec.categories.forEach(function (label, i) {
      var y = 8 + i * rowH;
      var text = document.createElementNS(SVG, "text");
      text.setAttribute("x", labelW - 8); text.setAttribute("y", y + barH - 4); text.setAttribute("text-anchor", "end");
      text.textContent = label.length > 26 ? label.slice(0, 25) + "\u2026" : label;
      svg.appendChild(text);
      var bar = document.createElementNS(SVG, "rect");
      bar.setAttribute("x", labelW); bar.setAttribute("y", y); bar.setAttribute("height", barH);
      bar.setAttribute("width", Math.max(0, (width - labelW - valueW) * (Number(s.data[i]) || 0) / top));
      bar.setAttribute("fill", palette[0]);
      svg.appendChild(bar);
      var value = document.createElementNS(SVG, "text");
      value.setAttribute("x", width - valueW + 6); value.setAttribute("y", y + barH - 4);
      value.textContent = s.text ? s.text[i] : String(s.data[i]);
      svg.appendChild(value);
    });
    container.appendChild(svg);
  }

  function resizeAll() {
    charts.forEach(function (c) {
      var width = c.node.clientWidth || 320;
      if (width === c.width) { return; }
      c.width = width;
      c.chart.setOption(option(c.spec, width, c.palette, c.font, c.showTitle), {notMerge: true});
      c.chart.resize();
    });
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(fn, ms);
    };
  }

  function init() {
    var source = document.getElementById("report-data");
    if (!source) { return; }
    var data;
    try { data = JSON.parse(source.textContent); } catch (e) { return; }
    var specs = (data && data.charts) || {};
    var palette = (data && data.palette) || PALETTE;
    var nodes = document.querySelectorAll("[data-chart]");
    var font = window.getComputedStyle(document.body).fontFamily || "sans-serif";
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var spec = specs[node.getAttribute("data-chart")];
      node.textContent = "";
      if (spec && spec.bars) { spec = fromBars(spec); }
      if (!spec || !spec.categories || !spec.categories.length) {
        var p = document.createElement("p");
        p.className = "empty";
        p.textContent = specs.empty || "";
        node.style.minHeight = "0";
        node.appendChild(p);
        continue;
      }
      if (!window.echarts) { drawFallback(node, spec, palette); continue; }
      node.style.height = heightFor(spec) + "px";
      var width = node.clientWidth || 320;
      // The chart shows its title unless the heading just above it says the same.
      var section = node.closest("section");
      var heading = section && section.querySelector("h2");
      var showTitle = !heading || heading.textContent.trim() !== spec.title;
      var chart = window.echarts.init(node, null, {renderer: "svg"});
      chart.setOption(option(spec, width, palette, font, showTitle));
      charts.push({node: node, chart: chart, spec: spec, palette: palette, width: width, font: font,
                   showTitle: showTitle});
    }
    var later = debounce(resizeAll, 120);
    window.addEventListener("resize", later);
    if (window.ResizeObserver) {
      var observer = new ResizeObserver(later);
      charts.forEach(function (c) { observer.observe(c.node); });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
