// Customer pool form: searchable multi-selects for members and member teams (Tom Select).
(function () {
  "use strict";
  document.querySelectorAll("select[data-pool-multi]:not(.tomselected)").forEach(function (el) {
    new TomSelect(el, { plugins: ["remove_button"], maxOptions: 500 });
  });
})();
