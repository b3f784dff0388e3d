/* textureade preview and bench report: sortable tables and a paged gallery. No dependencies.
 * Tables: <table class="sortable">; a click on a header sorts the body rows by the cells'
 * data-v (a number) or text; a second click reverses. Gallery: window.GALLERY (from a data
 * script) = {root (prefix of the image paths), page_size, keys: [{key, label, hib}], default_key, items: [{id, failed, reason,
 * imgs: [[src, caption, w, h]], kv: [[label, text]], table: {head, rows}, v: {key: number}}]}
 * rendered into #gallery one page at a time, worst first by the chosen key. */
(function () {
  "use strict";
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) { for (var k in attrs) { if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, attrs[k]); } }
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function cellValue(td) {
    var v = td.getAttribute("data-v");
    if (v !== null && v !== "" && !isNaN(Number(v))) return Number(v);
    return td.textContent.trim().toLowerCase();
  }
  function sortTable(table, col, th) {
    var body = table.tBodies[0];
    var asc = !th.classList.contains("asc");
    var ths = table.tHead.rows[0].cells;
    for (var i = 0; i < ths.length; i++) ths[i].classList.remove("asc", "desc");
    th.classList.add(asc ? "asc" : "desc");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a.cells[col]), y = cellValue(b.cells[col]);
      var nx = typeof x === "number", ny = typeof y === "number";
      var r = (nx && ny) ? x - y : (nx ? -1 : (ny ? 1 : (x < y ? -1 : (x > y ? 1 : 0))));
      return asc ? r : -r;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function initTables() {
    var tables = document.querySelectorAll("table.sortable");
    Array.prototype.forEach.call(tables, function (table) {
      var ths = table.tHead.rows[0].cells;
      Array.prototype.forEach.call(ths, function (th, col) {
        th.addEventListener("click", function () { sortTable(table, col, th); });
      });
    });
  }
  function cell(td, c) {
    if (c && typeof c === "object") {
      if (c.c) td.appendChild(el("span", {"class": "sw", style: "background:" + c.c}));
      td.appendChild(document.createTextNode(c.t === null || c.t === undefined ? "" : String(c.t)));
    } else { td.textContent = c === null || c === undefined ? "" : String(c); }
  }
  function card(item, root) {
    var div = el("div", {"class": "card" + (item.failed ? " failed" : ""), id: "item-" + item.id});
    div.appendChild(el("h3", null, item.id));
    if (item.reason) div.appendChild(el("div", {"class": "reason"}, "failed: " + item.reason));
    if (item.imgs && item.imgs.length) {
      var imgs = el("div", {"class": "imgs"});
      item.imgs.forEach(function (im) {
        var fig = el("figure");
        fig.appendChild(el("img", {src: root + im[0], alt: im[1], width: im[2], height: im[3], loading: "lazy", decoding: "async"}));
        fig.appendChild(el("figcaption", null, im[1]));
        imgs.appendChild(fig);
      });
      div.appendChild(imgs);
    }
    if (item.kv && item.kv.length) {
      var kv = el("table", {"class": "kv"});
      item.kv.forEach(function (p) { var tr = el("tr"); tr.appendChild(el("td", null, p[0])); var td = el("td"); cell(td, p[1]); tr.appendChild(td); kv.appendChild(tr); });
      div.appendChild(kv);
    }
    if (item.table && item.table.rows.length) {
      var t = el("table"), hr = el("tr");
      item.table.head.forEach(function (h) { hr.appendChild(el("th", null, h)); });
      t.appendChild(hr);
      item.table.rows.forEach(function (row) { var tr = el("tr"); row.forEach(function (c) { var td = el("td"); cell(td, c); tr.appendChild(td); }); t.appendChild(tr); });
      div.appendChild(t);
    }
    return div;
  }
  function initGallery() {
    var root = document.getElementById("gallery"), G = window.GALLERY;
    if (!root || !G) return;
    var state = {key: G.default_key || "", page: 0, failedOnly: false, query: ""};
    var controls = el("div", {"class": "controls"});
    var sel = el("select", {id: "sort-key"});
    sel.appendChild(el("option", {value: ""}, "dataset order"));
    (G.keys || []).forEach(function (k) { var o = el("option", {value: k.key}, k.label + (k.hib ? " (worst = lowest)" : " (worst = highest)")); sel.appendChild(o); });
    sel.value = state.key;
    var failed = el("input", {type: "checkbox", id: "failed-only"});
    var search = el("input", {type: "search", id: "search", placeholder: "id contains"});
    var count = el("span", {"class": "small", id: "count"});
    var lab1 = el("label", null, "worst first by "); lab1.appendChild(sel);
    var lab2 = el("label"); lab2.appendChild(failed); lab2.appendChild(document.createTextNode(" failed only"));
    var anyFailed = G.items.some(function (it) { return it.failed; });
    [lab1, anyFailed ? lab2 : null, search, count].forEach(function (x) { if (x) controls.appendChild(x); });
    var pagerTop = el("div", {"class": "pager"}), list = el("div", {id: "cards"}), pagerBottom = el("div", {"class": "pager"});
    [controls, pagerTop, list, pagerBottom].forEach(function (x) { root.appendChild(x); });
    var size = G.page_size || 50;
    function ordered() {
      var items = G.items.filter(function (it) {
        return (!state.failedOnly || it.failed) && (!state.query || it.id.toLowerCase().indexOf(state.query) >= 0);
      });
      if (!state.key) return items;
      var spec = (G.keys || []).filter(function (k) { return k.key === state.key; })[0] || {hib: true};
      var sign = spec.hib ? 1 : -1;
      return items.map(function (it, i) { return [it, i]; }).sort(function (a, b) {
        var x = a[0].v ? a[0].v[state.key] : null, y = b[0].v ? b[0].v[state.key] : null;
        if (x === null || x === undefined) return (y === null || y === undefined) ? a[1] - b[1] : 1;
        if (y === null || y === undefined) return -1;
        return (x - y) * sign || a[1] - b[1];
      }).map(function (p) { return p[0]; });
    }
    function pager(box, pages) {
      box.textContent = "";
      if (pages <= 1) return;
      function btn(label, p, cur) {
        var b = el("button", {type: "button", "class": cur ? "cur" : null}, label);
        b.addEventListener("click", function () { state.page = p; render(); });
        box.appendChild(b);
      }
      if (state.page > 0) btn("\u2039 prev", state.page - 1, false);
      for (var p = 0; p < pages; p++) {
        if (p < 2 || p >= pages - 2 || Math.abs(p - state.page) <= 2) btn(String(p + 1), p, p === state.page);
        else if (p === 2 || p === pages - 3) box.appendChild(document.createTextNode(" \u2026 "));
      }
      if (state.page < pages - 1) btn("next \u203a", state.page + 1, false);
    }
    function render() {
      var items = ordered(), pages = Math.max(1, Math.ceil(items.length / size));
      if (state.page >= pages) state.page = pages - 1;
      count.textContent = items.length + " of " + G.items.length + " images, page " + (state.page + 1) + " of " + pages;
      list.textContent = "";
      var frag = document.createDocumentFragment();
      items.slice(state.page * size, (state.page + 1) * size).forEach(function (it) { frag.appendChild(card(it, G.root || "")); });
      list.appendChild(frag);
      pager(pagerTop, pages); pager(pagerBottom, pages);
    }
    sel.addEventListener("change", function () { state.key = sel.value; state.page = 0; render(); });
    failed.addEventListener("change", function () { state.failedOnly = failed.checked; state.page = 0; render(); });
    search.addEventListener("input", function () { state.query = search.value.toLowerCase(); state.page = 0; render(); });
    render();
  }
  function init() { initTables(); initGallery(); document.body.setAttribute("data-ready", "1"); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
