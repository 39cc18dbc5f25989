// Service analytics charts (ECharts). Data comes from a json_script block; clicking a bar, point or slice
// opens the ticket list behind it. Names are user input (categories, products): tooltips escape them.
(function () {
  "use strict";

  function esc(s) { return echarts.format.encodeHTML(String(s == null ? "" : s)); }

  function chart(name) {
    var el = document.querySelector('[data-chart="' + name + '"]');
    if (!el || el.dataset.ready) return null;
    el.dataset.ready = "1";
    var c = echarts.init(el, null, { locale: document.body.dataset.lang === "en" ? "EN" : "ZH" });
    c.on("click", function (p) { if (p.data && p.data.url) window.location = p.data.url; });
    // Follow the element's own size (cards reflow on narrow screens), not only window resizes.
    var size = [el.clientWidth, el.clientHeight];
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        if (el.clientWidth === size[0] && el.clientHeight === size[1]) return;
        size = [el.clientWidth, el.clientHeight];
        requestAnimationFrame(function () { c.resize(); });
      }).observe(el);
    } else {
      window.addEventListener("resize", function () { c.resize(); });
    }
    return c;
  }

  function itemTooltip(label) {
    return { trigger: "item", formatter: function (p) { return esc(p.name) + "<br>" + esc(label) + ": " + esc(p.value); } };
  }

  function hbar(items, label) {
    return {
      grid: { left: 8, right: 32, top: 8, bottom: 8, containLabel: true },
      tooltip: itemTooltip(label),
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", inverse: true, data: items.map(function (d) { return d.name; }),
               axisLabel: { width: 140, overflow: "truncate" } },
      series: [{ type: "bar", name: label, cursor: "pointer", barMaxWidth: 24, data: items,
                 label: { show: true, position: "right" } }],
    };
  }

  function init() {
    var el = document.getElementById("service-analytics-data");
    if (!el || !window.echarts) return;
    var d = JSON.parse(el.textContent);
    var p = chart("periods");
    if (p) {
      p.setOption({
        grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
        tooltip: itemTooltip(d.labels.tickets),
        xAxis: { type: "category", data: d.periods.map(function (x) { return x.name; }) },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", name: d.labels.tickets, cursor: "pointer", barMaxWidth: 32, data: d.periods }],
      });
    }
    var c = chart("categories");
    if (c) {
      c.setOption({
        tooltip: { trigger: "item", formatter: function (x) { return esc(x.name) + "<br>" + esc(d.labels.tickets) + ": " + esc(x.value) + " (" + esc(x.percent) + "%)"; } },
        series: [
          { type: "pie", radius: [0, "45%"], cursor: "pointer", label: { position: "inner", fontSize: 11 }, data: d.categories },
          { type: "pie", radius: ["55%", "75%"], cursor: "pointer", data: d.subcategories,
            label: { formatter: function (x) { return x.name.split(" › ").pop(); }, overflow: "truncate", width: 90 } },
        ],
      });
    }
    var s = chart("csat");
    if (s) {
      s.setOption({
        grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
        tooltip: { trigger: "item", formatter: function (x) { return esc(x.name) + " ★<br>" + esc(d.labels.rated) + ": " + esc(x.value); } },
        xAxis: { type: "category", data: d.csat.map(function (x) { return x.name + " ★"; }) },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", cursor: "pointer", barMaxWidth: 40, data: d.csat.map(function (x, i) {
          return Object.assign({}, x, { itemStyle: { color: ["#dc3545", "#fd7e14", "#ffc107", "#20c997", "#198754"][i] } });
        }), label: { show: true, position: "top" } }],
      });
    }
    var t = chart("times");
    if (t) {
      t.setOption({
        grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
        legend: { top: 0 },
        tooltip: { trigger: "axis", formatter: function (ps) {
          return esc(ps[0].name) + ps.map(function (x) { return "<br>" + esc(x.seriesName) + ": " + esc(x.value); }).join("");
        } },
        xAxis: { type: "category", data: d.times.map(function (x) { return x.name; }), axisLabel: { interval: 0, overflow: "truncate", width: 80 } },
        yAxis: { type: "value" },
        series: [
          { type: "bar", name: d.labels.fr, cursor: "pointer", data: d.times.map(function (x) { return { value: x.fr, url: x.url }; }) },
          { type: "bar", name: d.labels.res, cursor: "pointer", data: d.times.map(function (x) { return { value: x.res, url: x.url }; }) },
        ],
      });
    }
    var pr = chart("products");
    if (pr) pr.setOption(hbar(d.products, d.labels.tickets));
  }

  document.addEventListener("DOMContentLoaded", init);
})();
