// Copy the built files Guanxi serves from node_modules into ../static/vendor (git-ignored).
import { cpSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "static", "vendor");
const files = {
  "bootstrap/dist/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
  "bootstrap/dist/js/bootstrap.bundle.min.js": "bootstrap/bootstrap.bundle.min.js",
  "bootstrap-icons/font/bootstrap-icons.min.css": "bootstrap-icons/bootstrap-icons.min.css",
  "bootstrap-icons/font/fonts": "bootstrap-icons/fonts",
  "htmx.org/dist/htmx.min.js": "htmx/htmx.min.js",
  "alpinejs/dist/cdn.min.js": "alpinejs/alpine.min.js",
  "echarts/dist/echarts.min.js": "echarts/echarts.min.js",
  "tom-select/dist/css/tom-select.bootstrap5.min.css": "tom-select/tom-select.bootstrap5.min.css",
  "tom-select/dist/js/tom-select.complete.min.js": "tom-select/tom-select.complete.min.js",
  // The standard bundle (core, interaction, day grid, time grid, list, multi-month) injects its own CSS.
  "fullcalendar/index.global.min.js": "fullcalendar/fullcalendar.min.js",
  "@fullcalendar/core/locales/zh-cn.global.min.js": "fullcalendar/locales/zh-cn.min.js",
  "sortablejs/Sortable.min.js": "sortablejs/Sortable.min.js",
};
rmSync(out, { recursive: true, force: true });
for (const [from, to] of Object.entries(files)) {
  const target = join(out, to);
  mkdirSync(dirname(target), { recursive: true });
  cpSync(join(here, "node_modules", from), target, { recursive: true });
  // Source maps too: the hashed static storage follows sourceMappingURL references.
  const map = join(here, "node_modules", from + ".map");
  if (existsSync(map)) cpSync(map, target + ".map");
}
console.log(`copied ${Object.keys(files).length} assets into ${out}`);
