// Guanxi's own browser code: Ctrl+K palette, autocomplete selects, list selection and the relation graph.
(function () {
  "use strict";

  function initAutocomplete(root) {
    root.querySelectorAll("select[data-autocomplete]:not(.tomselected)").forEach(function (el) {
      var url = el.dataset.autocomplete;
      new TomSelect(el, {
        valueField: "value", labelField: "text", searchField: "text", maxOptions: 20,
        plugins: el.multiple ? { remove_button: { title: document.body.dataset.removeLabel } } : [],
        load: function (query, callback) {
          fetch(url + "?q=" + encodeURIComponent(query), { credentials: "same-origin" })
            .then(function (r) { return r.json(); })
            .then(function (data) { callback(data.results); })
            .catch(function () { callback(); });
        },
        onChange: function () { el.dispatchEvent(new Event("change", { bubbles: true })); },
        render: {
          no_results: function (data, escape) {
            return '<div class="no-results">' + escape(document.body.dataset.noResults) + "</div>";
          },
        },
      });
    });
  }

  function initSelection(root) {
    var all = root.querySelector("[data-select-all]");
    if (!all) return;
    all.addEventListener("change", function () {
      root.querySelectorAll("input[name=ids]").forEach(function (box) { box.checked = all.checked; });
      updateBulk(root);
    });
    root.querySelectorAll("input[name=ids]").forEach(function (box) {
      box.addEventListener("change", function () { updateBulk(root); });
    });
  }

  function updateBulk(root) {
    var n = root.querySelectorAll("input[name=ids]:checked").length;
    document.querySelectorAll("[data-selected-count]").forEach(function (el) { el.textContent = n; });
  }

  function initGraph(root) {
    root.querySelectorAll("[data-graph]").forEach(function (el) {
      if (!window.echarts || el.dataset.ready) return;
      el.dataset.ready = "1";
      var data = JSON.parse(document.getElementById(el.dataset.graph).textContent);
      var chart = echarts.init(el, null, { locale: document.body.dataset.lang === "en" ? "EN" : "ZH" });
      chart.setOption({
        // ECharts renders tooltips as HTML: company names are user input, so escape them.
        tooltip: { formatter: function (p) { return echarts.format.encodeHTML(p.dataType === "edge" ? p.data.label : p.data.name); } },
        legend: [{ data: data.categories.map(function (c) { return c.name; }) }],
        series: [{
          type: "graph", layout: "force", roam: true, draggable: true, data: data.nodes, links: data.links,
          categories: data.categories, label: { show: true, position: "right" },
          edgeSymbol: ["none", "arrow"], edgeLabel: { show: true, formatter: function (p) { return p.data.label; }, fontSize: 11 },
          force: { repulsion: 320, edgeLength: 140 },
        }],
      });
      chart.on("click", function (p) { if (p.dataType === "node" && p.data.url) window.location = p.data.url; });
      // Follow the element's own size, not window resizes: a full-page screenshot or a phone's address bar
      // fires window resizes that leave the chart as it is, and resizing mid force-layout made ECharts throw.
      var size = [el.clientWidth, el.clientHeight];
      if (window.ResizeObserver) {
        new ResizeObserver(function () {
          if (el.clientWidth === size[0] && el.clientHeight === size[1]) return;
          size = [el.clientWidth, el.clientHeight];
          requestAnimationFrame(function () { chart.resize(); });
        }).observe(el);
      }
    });
  }

  function init(root) { initAutocomplete(root); initSelection(root); initGraph(root); }

  // The palette's results: a listbox whose highlighted option is marked on the input (aria-activedescendant);
  // focus stays in the input, ↓/↑ move the highlight (wrapping round), Enter opens it like a click.
  function paletteOptions() { return document.querySelectorAll("#palette-list [role=option]"); }

  function paletteHighlight(index, scroll) {
    var input = document.getElementById("palette-input");
    var options = paletteOptions();
    input.setAttribute("aria-expanded", options.length ? "true" : "false");
    input.removeAttribute("aria-activedescendant");
    if (!options.length) return;
    index = ((index % options.length) + options.length) % options.length;
    options.forEach(function (option, i) {
      option.id = option.id || "palette-option-" + i;
      option.classList.toggle("active", i === index);
      option.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    input.setAttribute("aria-activedescendant", options[index].id);
    if (scroll) options[index].scrollIntoView({ block: "nearest" });
  }

  function paletteCurrent() {
    return Array.prototype.findIndex.call(paletteOptions(), function (o) { return o.getAttribute("aria-selected") === "true"; });
  }

  function initPalette(palette) {
    var input = document.getElementById("palette-input");
    input.addEventListener("keydown", function (e) {
      if (e.isComposing) return;  // Enter or an arrow key choosing a Chinese input method's candidate
      var current = paletteCurrent();
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        var step = e.key === "ArrowDown" ? 1 : -1;
        paletteHighlight(current < 0 ? Math.min(step, 0) : current + step, true);
      } else if (e.key === "Enter" && current >= 0) {
        e.preventDefault();
        paletteOptions()[current].click();
      }
    });
    // New text makes the results stale until htmx swaps in the next ones: Enter must not open a result of
    // the previous query in the meantime, so the highlight goes until they arrive.
    input.addEventListener("input", function () {
      paletteOptions().forEach(function (option) {
        option.classList.remove("active");
        option.setAttribute("aria-selected", "false");
      });
      input.removeAttribute("aria-activedescendant");
    });
    palette.addEventListener("mousemove", function (e) {
      var option = e.target.closest("#palette-list [role=option]");
      if (option && option.getAttribute("aria-selected") !== "true") {
        paletteHighlight(Array.prototype.indexOf.call(paletteOptions(), option));
      }
    });
    document.addEventListener("htmx:afterSwap", function (e) {
      if (e.target.id === "palette-results") paletteHighlight(0);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    var palette = document.getElementById("palette");
    if (palette) {
      var modal = bootstrap.Modal.getOrCreateInstance(palette);
      var open = function () { modal.show(); };
      document.querySelectorAll("[data-palette-open]").forEach(function (b) { b.addEventListener("click", open); });
      document.addEventListener("keydown", function (e) {
        if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") { e.preventDefault(); open(); }
      });
      palette.addEventListener("shown.bs.modal", function () { document.getElementById("palette-input").focus(); });
      initPalette(palette);
    }
  });
  document.addEventListener("htmx:afterSwap", function (e) { init(e.target); });
  document.addEventListener("htmx:configRequest", function (e) {
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (token) e.detail.headers["X-CSRFToken"] = token.value;
  });
})();
