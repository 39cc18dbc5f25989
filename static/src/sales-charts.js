// Funnel and forecast charts (ECharts). Data comes from a json_script block; clicking a bar or funnel
// layer opens the drill-down list behind it. Names are user input: tooltips escape them (they are HTML).
(function () {
  "use strict";

  function esc(s) { return echarts.format.encodeHTML(String(s == null ? "" : s)); }

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function chart(name) {
    var el = document.querySelector('[data-chart="' + name + '"]');
    if (!el || el.dataset.ready) return null;
    el.dataset.ready = "1";
    var c = echarts.init(el, null, { locale: document.body.dataset.lang === "en" ? "EN" : "ZH" });
    window.addEventListener("resize", function () { c.resize(); });
    c.on("click", function (p) { if (p.data && p.data.url) window.location = p.data.url; });
    return c;
  }

  function barOption(items, label, opts) {
    opts = opts || {};
    return {
      grid: { left: 8, right: 24, top: 24, bottom: 8, containLabel: true },
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          var extra = opts.extra ? opts.extra(p.data) : "";
          return esc(p.name) + "<br>" + esc(label) + ": " + esc(p.value) + extra;
        },
      },
      xAxis: { type: "value", max: opts.max, minInterval: opts.integer ? 1 : 0 },
      yAxis: { type: "category", inverse: true, data: items.map(function (d) { return d.name; }),
               axisLabel: { width: 120, overflow: "truncate" } },
      series: [{
        type: "bar", name: label, cursor: "pointer", barMaxWidth: 28,
        data: items.map(function (d) {
          var item = Object.assign({}, d);
          if (d.bottleneck) item.itemStyle = { color: "#f0ad4e" };
          return item;
        }),
        label: { show: true, position: "right", formatter: opts.suffix ? "{c}" + opts.suffix : "{c}" },
      }],
    };
  }

  function initFunnel() {
    var d = data("funnel-data");
    if (!d || !window.echarts) return;
    var f = chart("funnel");
    if (f) {
      f.setOption({
        tooltip: { trigger: "item", formatter: function (p) { return esc(p.name) + "<br>" + esc(d.labels.reached) + ": " + esc(p.value); } },
        series: [{
          type: "funnel", sort: "none", left: "10%", width: "80%", top: 8, bottom: 8, minSize: "8%", gap: 2, cursor: "pointer",
          label: { show: true, position: "inside", formatter: "{b}: {c}" },
          data: d.funnel,
        }],
      });
    }
    var c = chart("conversion");
    if (c) {
      c.setOption(barOption(d.conversion, d.labels.conversion, {
        max: 100, suffix: "%",
        extra: function (item) { return "<br>" + esc(d.labels.days) + ": " + esc(item.days); },
      }));
    }
    var r = chart("reasons");
    if (r) r.setOption(barOption(d.reasons, d.labels.lost, { integer: true }));
    var o = chart("owners");
    if (o) {
      o.setOption(barOption(d.owners, d.labels.win_rate, {
        max: 100, suffix: "%",
        extra: function (item) { return "<br>" + esc(d.labels.won) + ": " + esc(item.won); },
      }));
    }
  }

  function initForecast() {
    var d = data("forecast-data");
    if (!d || !window.echarts) return;
    var a = chart("attainment");
    if (a) {
      a.setOption(barOption(d.reps, d.labels.attainment, {
        suffix: "%",
        extra: function (item) {
          return "<br>" + esc(d.labels.won) + ": " + esc(item.won) + "<br>" + esc(d.labels.quota) + ": " + esc(item.quota || "—");
        },
      }));
    }
  }

  document.addEventListener("DOMContentLoaded", function () { initFunnel(); initForecast(); });
})();
