//! The page's inline style and scripts: nothing is fetched, no font is loaded.

pub(super) const CSS: &str = r##"
:root { --fg: #1d232b; --muted: #5b6673; --line: #d5dbe3; --bg: #f6f8fa; --ok: #137333; --fail: #b3261e;
  --router: #e7f0fb; --router-edge: #3b6fb6; --bridge: #e9f6ec; --bridge-edge: #2f8a4a;
  --host: #fdf3e6; --host-edge: #b7791f;
  --mono: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; }
header { padding: 14px 24px 10px; background: var(--bg); border-bottom: 1px solid var(--line); }
h1 { font-size: 20px; margin: 0 8px 0 0; display: inline-block; }
h2 { font-size: 17px; margin: 0 0 8px; }
h3 { font-size: 14px; margin: 12px 0 4px; }
main > section { padding: 14px 24px; border-bottom: 1px solid var(--line); }
.meta { color: var(--muted); margin: 4px 0; }
nav a { margin-right: 14px; color: #1a5fb4; text-decoration: none; }
nav a:hover { text-decoration: underline; }
.verdict { display: inline-block; padding: 1px 10px; border-radius: 10px; font-weight: 700; color: #fff; vertical-align: 3px; }
.verdict.pass { background: var(--ok); }
.verdict.fail { background: var(--fail); }
.badge { display: inline-block; min-width: 3.2em; text-align: center; padding: 0 6px; border-radius: 4px; font: 700 12px var(--mono); }
.badge.ok { background: #e6f4ea; color: var(--ok); }
.badge.fail { background: #fce8e6; color: var(--fail); }
.kind { font-size: 11px; color: var(--muted); border: 1px solid var(--line); border-radius: 3px; padding: 0 4px; margin-left: 6px; }
pre { font: 12px/1.4 var(--mono); background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: 6px 8px; margin: 4px 0; overflow: auto; max-height: 22em; white-space: pre; }
details.about { margin: 4px 0; }
details.about summary { cursor: pointer; color: #333; }
pre.about { white-space: pre-wrap; max-height: none; background: #fff; border: none; padding: 0; color: #333; }
.failures { color: var(--fail); margin: 6px 0 0; padding-left: 20px; }
.scroll { overflow: auto; border: 1px solid var(--line); border-radius: 4px; }
.legend span { margin-right: 16px; font-size: 12px; color: var(--muted); }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 3px; margin-right: 4px; vertical-align: -1px; border: 1px solid; }
svg text { font-family: var(--mono); }
svg.topology { display: block; }
.node rect { stroke-width: 1.4; }
.node.router rect { fill: var(--router); stroke: var(--router-edge); }
.node.bridge rect { fill: var(--bridge); stroke: var(--bridge-edge); }
.node.host rect { fill: var(--host); stroke: var(--host-edge); }
.node .nn { font: 700 13px var(--mono); fill: var(--fg); }
.node .nk { font: italic 10px system-ui, "DejaVu Sans", sans-serif; fill: var(--muted); }
.node .nr { font-size: 12px; fill: var(--fg); }
.node .nr .addr { fill: #1a4f8a; }
.node .nr.later { fill: var(--muted); font-style: italic; }
.node .nr.later .addr { fill: var(--muted); }
path.link { fill: none; stroke: #6b7785; stroke-width: 1.6; }
path.link.device { stroke-dasharray: 6 4; stroke: var(--bridge-edge); }
path.link.later { stroke-dasharray: 2 4; }
text.ifl { font-size: 10px; fill: #3d4650; text-anchor: middle; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
.controls { margin: 6px 0 8px; }
.controls input[type=text] { font: 13px var(--mono); width: 11em; padding: 2px 6px; }
.controls label { margin-left: 10px; }
.controls button { margin-left: 10px; }
#pkt-status { margin-left: 12px; color: var(--muted); }
.ladder-box { max-height: 72vh; overflow: auto; border: 1px solid var(--line); border-radius: 4px; }
.ladder-head { position: sticky; top: 0; background: #fffffff0; border-bottom: 1px solid var(--line); z-index: 1; width: max-content; }
.ladder-lanes text { font-size: 11px; }
.ladder-lanes .lane-name { text-anchor: middle; font-weight: 700; fill: var(--fg); }
.ladder-lanes .lh { fill: var(--muted); font-family: system-ui, "DejaVu Sans", sans-serif; }
svg.ladder { display: block; }
svg.ladder line.lane { stroke: #c3cad3; stroke-width: 1; stroke-dasharray: 3 3; }
svg.ladder g.hop { cursor: pointer; }
svg.ladder .bg { fill: transparent; }
svg.ladder g.hop:hover .bg { fill: #eef3fa; }
svg.ladder .t { font-size: 11px; fill: var(--muted); }
svg.ladder line.arrow { stroke-width: 1.7; }
svg.ladder g.device line.arrow { stroke-dasharray: 4 3; }
svg.ladder g.lost line.arrow { stroke-dasharray: 2 3; }
svg.ladder g.unmatched line.arrow { stroke-dasharray: 1 3; }
svg.ladder path.x { stroke-width: 2; fill: none; }
svg.ladder .ifn { font-size: 9px; fill: #6b7785; }
svg.ladder .sum { font-size: 12px; }
svg.ladder .pid { font-weight: 700; }
svg.ladder .nt { font-size: 10px; fill: #4a5560; }
.table-box { max-height: 60vh; overflow: auto; border: 1px solid var(--line); border-radius: 4px; margin-top: 10px; }
table { border-collapse: collapse; font-size: 12px; }
th, td { text-align: left; vertical-align: top; padding: 3px 8px; border-bottom: 1px solid #e6e9ee; }
thead th { position: sticky; top: 0; background: var(--bg); }
td.num { font-family: var(--mono); white-space: nowrap; }
td.mono, td.notes { font-family: var(--mono); }
td.notes div { white-space: pre-wrap; }
table.hops tbody tr { cursor: pointer; }
table.hops tbody tr:hover { background: #eef3fa; }
.pid { font-family: var(--mono); font-weight: 700; }
.re { font-family: var(--mono); color: var(--muted); }
.step { margin: 0 0 14px; }
.step .cmd { font: 13px var(--mono); }
.step .when { color: var(--muted); font: 12px var(--mono); margin-right: 6px; }
.checks { list-style: none; padding: 0; margin: 4px 0; }
.checks li { margin: 2px 0; font: 12px var(--mono); }
.prompt { white-space: pre-wrap; margin: 4px 0; padding: 6px 10px; border-left: 3px solid #f0b429; background: #fffaf0; }
ul.files { font: 13px var(--mono); }
.warn { color: #8a5300; }
"##;

/// Counts the page's own errors, from the start: uncaught ones, failed resources (there are
/// none to load), rejected promises nobody handled, and `console.error`.
pub(super) const ERRORS_JS: &str = r##"
window.hoplabErrors = 0;
(function () {
  function count() {
    window.hoplabErrors += 1;
    if (document.body && document.body.dataset.rendered === "yes") {
      document.body.dataset.errors = String(window.hoplabErrors);
    }
  }
  window.onerror = function () { count(); return false; };
  window.addEventListener("error", function (e) { if (e.target !== window) { count(); } }, true);
  window.addEventListener("unhandledrejection", count);
  var original = console.error;
  console.error = function () { count(); return original.apply(console, arguments); };
})();
"##;

/// Filters the ladder and its table by packet id (`#packet=7` in the address too), lays the
/// ladder's rows out again, then marks the page rendered.
pub(super) const MAIN_JS: &str = r##"
(function () {
  "use strict";
  var body = document.body;
  try {
    var svg = document.getElementById("ladder");
    var rowH = svg ? Number(svg.getAttribute("data-row")) || 30 : 30;
    var pad = svg ? Number(svg.getAttribute("data-pad")) || 0 : 0;
    var hops = svg ? Array.prototype.slice.call(svg.querySelectorAll("g.hop")) : [];
    var lanes = svg ? Array.prototype.slice.call(svg.querySelectorAll("line.lane")) : [];
    var rows = Array.prototype.slice.call(document.querySelectorAll("#hops tbody tr"));
    var input = document.getElementById("pkt");
    var withRe = document.getElementById("withre");
    var clear = document.getElementById("pkt-clear");
    var status = document.getElementById("pkt-status");
    var keep = function (el, id) {
      if (id === null) { return true; }
      if (Number(el.getAttribute("data-id")) === id) { return true; }
      return !!(withRe && withRe.checked && Number(el.getAttribute("data-re")) === id);
    };
    var apply = function () {
      var text = input ? input.value.trim() : "";
      var id = null;
      var bad = false;
      if (text !== "") {
        if (/^[0-9]{1,9}$/.test(text)) { id = Number(text); } else { bad = true; }
      }
      var n = 0;
      hops.forEach(function (g) {
        var on = keep(g, id);
        g.style.display = on ? "" : "none";
        if (on) {
          g.setAttribute("transform", "translate(0," + (pad + n * rowH) + ")");
          n += 1;
        }
      });
      var h = 2 * pad + Math.max(n, 1) * rowH;
      if (svg) { svg.setAttribute("height", String(h)); }
      lanes.forEach(function (l) { l.setAttribute("y2", String(h)); });
      rows.forEach(function (tr) { tr.style.display = keep(tr, id) ? "" : "none"; });
      if (status) {
        if (bad) {
          status.textContent = "not a packet id: showing every hop";
        } else if (id === null) {
          status.textContent = "showing all " + hops.length + " hops";
        } else {
          status.textContent = "packet " + id + ": " + n + " of " + hops.length + " hops";
        }
      }
    };
    var pick = function (el) {
      if (input) { input.value = el.getAttribute("data-id"); apply(); }
    };
    if (input) { input.addEventListener("input", apply); }
    if (withRe) { withRe.addEventListener("change", apply); }
    if (clear) { clear.addEventListener("click", function () { input.value = ""; apply(); }); }
    hops.forEach(function (g) { g.addEventListener("click", function () { pick(g); }); });
    rows.forEach(function (tr) { tr.addEventListener("click", function () { pick(tr); }); });
    var m = /^#packet=([0-9]{1,9})$/.exec(window.location.hash);
    if (m && input) { input.value = m[1]; }
    apply();
  } catch (e) {
    window.hoplabErrors += 1;
  }
  body.dataset.errors = String(window.hoplabErrors);
  body.dataset.rendered = "yes";
})();
"##;
