/* Draws the cockpit's charts with the vendored Apache ECharts; a click on a bar or point opens
   the records behind it. The charts are (re)drawn after every htmx swap of the chart area. */
(function () {
  "use strict";
  var charts = [];

  function draw(root) {
    if (typeof window.echarts === "undefined") return;
    charts.forEach(function (c) { if (!c.isDisposed()) c.dispose(); });
    charts = [];
    (root || document).querySelectorAll("[data-cockpit-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-cockpit-chart"));
      if (!source) return;
      var spec = JSON.parse(source.textContent);
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      var category = { type: "category", data: spec.categories, axisLabel: { hideOverlap: true } };
      var value = { type: "value", minInterval: 1 };
      if (spec.percent) { value = { type: "value", name: spec.axes[0] || "", max: 100 }; }
      var yAxes = [value];
      if (spec.series.some(function (s) { return s.axis === 1; })) {
        yAxes.push({ type: "value", name: spec.axes[1] || "", min: -100, max: 100, splitLine: { show: false } });
      }
      var option = {
        animation: false,  /* figures, not a show: drawn at once, also on old office PCs */
        tooltip: { trigger: "axis", confine: true },
        legend: { type: "scroll", top: 0 },
        grid: { left: 8, right: 8, bottom: 8, top: 36, containLabel: true },
        series: spec.series.map(function (s) {
          return {
            name: s.name, type: s.type, stack: s.stack || undefined, data: s.data,
            yAxisIndex: spec.horizontal ? undefined : Math.min(s.axis, yAxes.length - 1),
            connectNulls: true, emphasis: { focus: "series" }, cursor: "pointer"
          };
        })
      };
      if (spec.horizontal) {
        option.xAxis = value; option.yAxis = category;
      } else {
        option.xAxis = category; option.yAxis = yAxes;
      }
      chart.setOption(option);
      chart.on("click", function (params) {
        var series = spec.series[params.seriesIndex];
        var link = series && series.links && series.links[params.dataIndex];
        if (link) window.location.assign(link);
      });
      el.setAttribute("data-drawn", "1");
      charts.push(chart);
    });
  }

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (evt) {
    if (evt.target && evt.target.id === "cockpit-body") draw(evt.target);
  });
  window.yitiCockpit = { charts: function () { return charts; }, draw: draw };
})();
