/* reportgen site script: progressive enhancement only (the pages are complete without it).
 * Search, graph zoom/pan and node details, Action History filters, version selector, long tables.
 * Vanilla ES2017, no dependencies, no network, no inline handlers. */
(function () {
  "use strict";

  var doc = document;
  var root = doc.documentElement.getAttribute("data-root") || "";

  function $(sel, ctx) { return (ctx || doc).querySelector(sel); }
  function $$(sel, ctx) { return Array.prototype.slice.call((ctx || doc).querySelectorAll(sel)); }
  function el(tag, attrs, text) {
    var e = doc.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
  function safely(name, fn) {
    try { fn(); } catch (err) {
      /* A broken enhancement must not break the others; the page still works without it. */
      if (window.console && console.warn) { console.warn("reportgen: " + name + " disabled:", err); }
    }
  }
  function isTyping(target) {
    if (!target || !target.tagName) { return false; }
    var t = target.tagName.toLowerCase();
    return t === "input" || t === "textarea" || t === "select" || target.isContentEditable;
  }

  /* ------------------------------------------------------------ hash helpers */

  function filterParams() {
    var h = (window.location.hash || "").replace(/^#/, "");
    if (!/(^|&)(kind|user)=/.test(h)) { return null; }
    try { return new URLSearchParams(h); } catch (err) { return null; }
  }

  function revealTarget() {
    var h = (window.location.hash || "").replace(/^#/, "");
    if (!h || filterParams()) { return; }
    var id;
    try { id = decodeURIComponent(h); } catch (err) { id = h; }
    var target = doc.getElementById(id);
    if (!target) { return; }
    var d = target.closest("details");
    var opened = false;
    while (d) {
      if (!d.open) { d.open = true; opened = true; }
      d = d.parentElement ? d.parentElement.closest("details") : null;
    }
    if (opened) { target.scrollIntoView({ block: "start" }); }
  }

  /* ------------------------------------------------------------ search */

  function initSearch() {
    var box = $(".site-search");
    var data = window.REPORTGEN_SEARCH;
    if (!box || !Array.isArray(data)) { return; }
    var input = $("input", box);
    var list = $(".search-results", box);
    var status = $("#site-search-status");
    if (!input || !list) { return; }
    box.hidden = false;

    var entries = data.filter(function (x) { return x && typeof x.t === "string" && typeof x.u === "string"; })
      .map(function (x) {
        var t = x.t, d = typeof x.d === "string" ? x.d : "", k = typeof x.k === "string" ? x.k : "";
        return { t: t, d: d, k: k, u: x.u, tl: t.toLowerCase(), hay: (t + " " + d + " " + k).toLowerCase() };
      });

    /* The results are a list of links after the box, announced through the status line: the box is a plain
       search field, not a combobox, so it carries no aria-expanded (axe: aria-allowed-attr). */
    function close() {
      list.hidden = true;
    }

    function highlight(text, term) {
      var frag = doc.createDocumentFragment();
      var i = term ? text.toLowerCase().indexOf(term) : -1;
      if (i < 0) { frag.appendChild(doc.createTextNode(text)); return frag; }
      frag.appendChild(doc.createTextNode(text.slice(0, i)));
      frag.appendChild(el("mark", null, text.slice(i, i + term.length)));
      frag.appendChild(doc.createTextNode(text.slice(i + term.length)));
      return frag;
    }

    function search() {
      var q = input.value.trim().toLowerCase();
      list.textContent = "";
      if (!q) { close(); if (status) { status.textContent = ""; } return; }
      var terms = q.split(/\s+/);
      var hits = [];
      entries.forEach(function (x) {
        for (var i = 0; i < terms.length; i++) { if (x.hay.indexOf(terms[i]) < 0) { return; } }
        var rank = x.tl === q ? 0 : x.tl.indexOf(q) === 0 ? 1 : x.tl.indexOf(q) >= 0 ? 2 : x.tl.indexOf(terms[0]) >= 0 ? 3 : 4;
        hits.push({ x: x, rank: rank });
      });
      hits.sort(function (a, b) {
        return a.rank - b.rank || a.x.t.length - b.x.t.length || (a.x.t < b.x.t ? -1 : a.x.t > b.x.t ? 1 : 0);
      });
      var shown = hits.slice(0, 30);
      shown.forEach(function (h) {
        var li = el("li");
        var a = el("a", { href: root + h.x.u });
        var title = el("span", { "class": "sr-title" });
        title.appendChild(highlight(h.x.t, terms[0]));
        a.appendChild(title);
        if (h.x.k) {
          a.appendChild(doc.createTextNode(" "));
          a.appendChild(el("span", { "class": "badge badge-kind" }, h.x.k));
        }
        if (h.x.d) { a.appendChild(el("span", { "class": "sr-detail" }, h.x.d)); }
        li.appendChild(a);
        list.appendChild(li);
      });
      if (!shown.length) {
        list.appendChild(el("li", { "class": "sr-empty" }, "Nothing matches \u201c" + input.value.trim() + "\u201d."));
      } else if (hits.length > shown.length) {
        list.appendChild(el("li", { "class": "sr-empty" }, (hits.length - shown.length) + " more: refine the search."));
      }
      list.hidden = false;
      if (status) { status.textContent = hits.length ? plural(hits.length, "result") : "No results"; }
    }

    function links() { return $$("a", list); }

    input.addEventListener("input", search);
    input.addEventListener("focus", function () { if (input.value.trim()) { search(); } });
    input.addEventListener("keydown", function (e) {
      var ls = links();
      if (e.key === "ArrowDown" && ls.length) { e.preventDefault(); ls[0].focus(); }
      else if (e.key === "Enter" && ls.length) { e.preventDefault(); window.location.href = ls[0].href; }
      else if (e.key === "Escape") { input.value = ""; search(); }
    });
    list.addEventListener("keydown", function (e) {
      var ls = links();
      var i = ls.indexOf(doc.activeElement);
      if (e.key === "ArrowDown") { e.preventDefault(); if (i < ls.length - 1) { ls[i + 1].focus(); } }
      else if (e.key === "ArrowUp") { e.preventDefault(); if (i > 0) { ls[i - 1].focus(); } else { input.focus(); } }
      else if (e.key === "Escape") { e.preventDefault(); close(); input.focus(); }
    });
    box.addEventListener("focusout", function (e) {
      if (!e.relatedTarget || !box.contains(e.relatedTarget)) { close(); }
    });
    doc.addEventListener("keydown", function (e) {
      if (e.key === "/" && !e.ctrlKey && !e.metaKey && !e.altKey && !isTyping(e.target)) {
        e.preventDefault();
        input.focus();
      }
    });
  }

  /* ------------------------------------------------------------ graph */

  function initGraph(fig) {
    var scroller = $(".graph-scroll", fig);
    var svg = scroller ? $("svg", scroller) : null;
    if (!svg) { return; }
    var toolbar = $(".graph-toolbar", fig);
    var panel = $(".graph-panel", fig);
    var level = $(".graph-zoom-level", fig);

    /* ---- zoom: change the SVG's width and height; the viewBox keeps the drawing's coordinates */
    function toPx(value) {
      var m = /^\s*([\d.]+)\s*(pt|px)?\s*$/.exec(value || "");
      if (!m) { return 0; }
      return parseFloat(m[1]) * (m[2] === "pt" ? 4 / 3 : 1);
    }
    var natW = toPx(svg.getAttribute("width"));
    var natH = toPx(svg.getAttribute("height"));
    var vb = svg.viewBox && svg.viewBox.baseVal;
    if ((!natW || !natH) && vb && vb.width) { natW = vb.width * 4 / 3; natH = vb.height * 4 / 3; }
    if (!svg.getAttribute("viewBox") && natW && natH) {
      svg.setAttribute("viewBox", "0 0 " + (natW * 3 / 4) + " " + (natH * 3 / 4));
    }
    var scale = 1;
    var MIN = 0.1, MAX = 4;

    function innerWidth() {
      var cs = window.getComputedStyle(scroller);
      return scroller.clientWidth - parseFloat(cs.paddingLeft || 0) - parseFloat(cs.paddingRight || 0);
    }
    function fitScale() { return natW ? Math.min(1, Math.max(MIN, innerWidth() / natW)) : 1; }

    function setScale(s, keepCentre) {
      if (!natW || !natH) { return; }
      s = Math.min(MAX, Math.max(MIN, s));
      var cx = 0.5, cy = 0.5;
      if (keepCentre && scroller.scrollWidth > 0) {
        cx = (scroller.scrollLeft + scroller.clientWidth / 2) / scroller.scrollWidth;
        cy = (scroller.scrollTop + scroller.clientHeight / 2) / scroller.scrollHeight;
      }
      scale = s;
      svg.setAttribute("width", String(Math.round(natW * s)));
      svg.setAttribute("height", String(Math.round(natH * s)));
      if (keepCentre) {
        scroller.scrollLeft = cx * scroller.scrollWidth - scroller.clientWidth / 2;
        scroller.scrollTop = cy * scroller.scrollHeight - scroller.clientHeight / 2;
      }
      if (level) { level.textContent = Math.round(s * 100) + "%"; }
      scroller.classList.toggle("is-draggable",
        scroller.scrollWidth > scroller.clientWidth + 1 || scroller.scrollHeight > scroller.clientHeight + 1);
    }

    if (toolbar && natW && natH) {
      toolbar.hidden = false;
      toolbar.addEventListener("click", function (e) {
        var b = e.target.closest("button[data-zoom]");
        if (!b) { return; }
        var z = b.getAttribute("data-zoom");
        if (z === "in") { setScale(scale * 1.25, true); }
        else if (z === "out") { setScale(scale / 1.25, true); }
        else if (z === "fit") { setScale(fitScale(), false); }
        else if (z === "reset") { setScale(1, true); }
      });
    }
    scroller.addEventListener("keydown", function (e) {
      if (e.target !== scroller || e.ctrlKey || e.metaKey || e.altKey) { return; }
      if (e.key === "+" || e.key === "=") { e.preventDefault(); setScale(scale * 1.25, true); }
      else if (e.key === "-") { e.preventDefault(); setScale(scale / 1.25, true); }
      else if (e.key === "0") { e.preventDefault(); setScale(fitScale(), false); }
    });

    /* ---- drag to pan with a mouse (touch scrolls natively) */
    var drag = null, dragged = false;
    scroller.addEventListener("pointerdown", function (e) {
      if (e.pointerType !== "mouse" || e.button !== 0) { return; }
      if (!scroller.classList.contains("is-draggable")) { return; }
      drag = { x: e.clientX, y: e.clientY, l: scroller.scrollLeft, t: scroller.scrollTop };
      dragged = false;
    });
    window.addEventListener("pointermove", function (e) {
      if (!drag) { return; }
      var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (!dragged && Math.abs(dx) + Math.abs(dy) > 4) {
        dragged = true;
        scroller.classList.add("is-dragging");
      }
      if (dragged) {
        scroller.scrollLeft = drag.l - dx;
        scroller.scrollTop = drag.t - dy;
      }
    });
    window.addEventListener("pointerup", function () {
      drag = null;
      scroller.classList.remove("is-dragging");
      window.setTimeout(function () { dragged = false; }, 0);
    });

    /* ---- node details beside the graph */
    var body = panel ? $(".graph-panel-body", panel) : null;
    var hint = panel ? $(".graph-panel-hint", panel) : null;
    var closeBtn = panel ? $(".graph-panel-close", panel) : null;
    var titleEl = panel ? $(".graph-panel-title", panel) : null;
    var selected = null;
    var hasInfo = $$("g.node", svg).some(function (g) { return g.id && doc.getElementById(g.id + "-info"); });

    function clearSelection() {
      if (selected) { selected.classList.remove("is-selected"); }
      selected = null;
    }
    function closePanel() {
      clearSelection();
      if (body) { body.textContent = ""; }
      if (hint) { hint.hidden = false; }
      if (closeBtn) { closeBtn.hidden = true; }
      if (titleEl) { titleEl.textContent = "Node details"; }
      if (panel) { panel.classList.add("is-empty"); }
    }

    function showNode(g) {
      var info = doc.getElementById(g.id + "-info");
      if (!info || !body) { return false; }
      var clone = info.cloneNode(true);
      clone.removeAttribute("id");
      $$("[id]", clone).forEach(function (x) { x.removeAttribute("id"); });
      var wrap = el("ul", { "class": "node-info-wrap", role: "list" });
      wrap.appendChild(clone);
      body.textContent = "";
      body.appendChild(wrap);
      var link = $("a.node-link", clone);
      if (link) {
        var open = el("a", { href: link.getAttribute("href"), "class": "graph-panel-open" }, "Open page \u2192");
        if (link.classList.contains("ext")) { open.setAttribute("rel", "noopener noreferrer nofollow"); }
        body.appendChild(open);
      }
      var kind = clone.querySelector(".badge-kind");
      if (titleEl) {
        var k = kind ? kind.textContent.trim() : "";
        titleEl.textContent = k === "run" ? "Run" : k === "artifact" ? "Artifact version" : k === "cluster" ? "Cluster" : "Node details";
      }
      if (hint) { hint.hidden = true; }
      if (closeBtn) { closeBtn.hidden = false; }
      panel.classList.remove("is-empty");
      clearSelection();
      selected = g;
      g.classList.add("is-selected");
      var r = panel.getBoundingClientRect();
      if (r.top > window.innerHeight - 80 || r.bottom < 0) { panel.scrollIntoView({ block: "nearest" }); }
      return true;
    }

    if (panel && hasInfo) {
      panel.hidden = false;
      panel.classList.add("is-empty");
      fig.classList.add("has-panel");
      scroller.addEventListener("click", function (e) {
        var a = e.target.closest ? e.target.closest("a") : null;
        if (dragged) { e.preventDefault(); return; }
        if (!a || !scroller.contains(a)) { return; }
        var g = a.closest("g.node");
        if (!g || !g.id) { return; }
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.button === 1) { return; } /* open in a new tab as asked */
        if (showNode(g)) { e.preventDefault(); }
      });
      if (closeBtn) {
        closeBtn.addEventListener("click", function () {
          var back = selected ? $("a", selected) : null;
          closePanel();
          if (back && back.focus) { back.focus(); }
        });
      }
      fig.addEventListener("keydown", function (e) {
        if (e.key === "Escape" && selected) {
          var back = $("a", selected);
          closePanel();
          if (back && back.focus) { back.focus(); }
        }
      });
    }

    /* initial size: fit the width, but never so small that labels cannot be read */
    if (natW && natH) { setScale(Math.max(fitScale(), 0.75), false); }
    /* when the graph is bigger than its frame, start with the focus node in the middle of it */
    var focusNode = $("g.node.focus", svg);
    if (focusNode && focusNode.getBoundingClientRect &&
        (scroller.scrollWidth > scroller.clientWidth || scroller.scrollHeight > scroller.clientHeight)) {
      var fr = focusNode.getBoundingClientRect(), sr = scroller.getBoundingClientRect();
      scroller.scrollLeft += (fr.left + fr.width / 2) - (sr.left + sr.width / 2);
      scroller.scrollTop += (fr.top + fr.height / 2) - (sr.top + sr.height / 2);
    }
    var resizeTimer = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(resizeTimer);
      resizeTimer = window.setTimeout(function () { setScale(scale, false); }, 150);
    });
  }

  /* ------------------------------------------------------------ Action History filters */

  function initTimeline(tl) {
    var box = $(".timeline-filters", tl);
    var kindSel = $('select[data-filter="kind"]', tl);
    var userSel = $('select[data-filter="user"]', tl);
    var clear = $("[data-filter-clear]", tl);
    var count = $(".timeline-count", tl);
    var empty = $(".timeline-empty", tl);
    var items = $$("li.event", tl);
    var days = $$(".timeline-day", tl);
    if (!box || !items.length) { return; }
    box.hidden = false;
    var total = items.length;

    function apply(updateHash) {
      var k = kindSel ? kindSel.value : "";
      var u = userSel ? userSel.value : "";
      var shown = 0;
      items.forEach(function (li) {
        var ok = (!k || li.getAttribute("data-kind") === k) && (!u || li.getAttribute("data-user") === u);
        li.hidden = !ok;
        if (ok) { shown += 1; }
      });
      days.forEach(function (d) { d.hidden = !d.querySelector("li.event:not([hidden])"); });
      if (count) {
        count.textContent = (k || u) ? shown + " of " + plural(total, "action") : plural(total, "action");
      }
      if (empty) { empty.hidden = shown > 0; }
      if (clear) { clear.disabled = !(k || u); }
      if (updateHash && window.history && window.history.replaceState) {
        var p = new URLSearchParams();
        if (k) { p.set("kind", k); }
        if (u) { p.set("user", u); }
        var s = p.toString();
        var url = window.location.pathname + window.location.search + (s ? "#" + s : "");
        try { window.history.replaceState(null, "", url); } catch (err) { /* some file:// setups refuse */ }
      }
    }

    function fromHash() {
      var p = filterParams();
      if (kindSel) { kindSel.value = p && p.get("kind") || ""; }
      if (userSel) { userSel.value = p && p.get("user") || ""; }
      apply(false);
    }

    [kindSel, userSel].forEach(function (s) {
      if (s) { s.addEventListener("change", function () { apply(true); }); }
    });
    if (clear) {
      clear.addEventListener("click", function () {
        if (kindSel) { kindSel.value = ""; }
        if (userSel) { userSel.value = ""; }
        apply(true);
      });
    }
    window.addEventListener("hashchange", fromHash);
    fromHash();
  }

  /* ------------------------------------------------------------ version selector */

  var selectCount = 0;

  function initVersionSelector(nav) {
    var list = $("ul", nav);
    var anchors = list ? $$("a", list) : [];
    if (!anchors.length) { return; }
    selectCount += 1;
    var id = "version-select-" + selectCount;
    var label = el("label", { "for": id }, "Show the lineage of");
    var select = el("select", { id: id });
    var current = anchors.filter(function (a) { return a.hasAttribute("aria-current"); })[0];
    if (!current) {
      var ph = el("option", { value: "" }, "Choose a version\u2026");
      ph.selected = true;
      select.appendChild(ph);
    }
    anchors.forEach(function (a) {
      var o = el("option", { value: a.href }, a.textContent.trim());
      if (a === current) { o.selected = true; }
      select.appendChild(o);
    });
    var go = el("button", { type: "button" }, "Show");
    var wrap = el("span", { "class": "version-select" });
    wrap.appendChild(label);
    wrap.appendChild(select);
    wrap.appendChild(go);
    nav.insertBefore(wrap, list);
    list.hidden = true;

    function navigate() {
      if (select.value && select.value !== (current && current.href)) { window.location.href = select.value; }
    }
    /* Arrow keys on a closed <select> fire "change" at every step: only navigate on a pointer choice,
       on Enter, or with the button, so keyboard users can move through the list first. */
    var keyed = false;
    select.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); navigate(); return; }
      keyed = true;
    });
    select.addEventListener("pointerdown", function () { keyed = false; });
    select.addEventListener("change", function () { if (!keyed) { navigate(); } keyed = false; });
    go.addEventListener("click", navigate);
    /* Back/forward cache: show this page's version again, not the one chosen before leaving. */
    window.addEventListener("pageshow", function () {
      select.value = current ? current.href : "";
      keyed = false;
    });
  }

  /* ------------------------------------------------------------ long tables */

  function initPaginate(table) {
    var size = parseInt(table.getAttribute("data-paginate"), 10);
    var tbody = table.tBodies[0];
    if (!size || !tbody) { return; }
    var rows = Array.prototype.slice.call(tbody.rows);
    if (rows.length <= size + Math.ceil(size / 5)) { return; }
    var shown = size;
    var bar = el("div", { "class": "table-more" });
    var status = el("span", { role: "status" });
    var more = el("button", { type: "button" });
    var all = el("button", { type: "button" }, "Show all " + rows.length);
    bar.appendChild(status);
    bar.appendChild(more);
    bar.appendChild(all);
    (table.parentElement || table).appendChild(bar);

    function render() {
      rows.forEach(function (r, i) { r.hidden = i >= shown && !r.classList.contains("is-current"); });
      var visible = rows.filter(function (r) { return !r.hidden; }).length;
      status.textContent = "Showing " + visible + " of " + rows.length + " rows";
      var next = Math.min(size, rows.length - shown);
      more.textContent = "Show " + next + " more";
      bar.hidden = shown >= rows.length;
    }
    more.addEventListener("click", function () { shown += size; render(); });
    all.addEventListener("click", function () { shown = rows.length; render(); });
    render();
  }

  /* ------------------------------------------------------------ print: open every <details> */

  function initPrint() {
    var reopened = [];
    window.addEventListener("beforeprint", function () {
      reopened = $$("details:not([open])");
      reopened.forEach(function (d) { d.open = true; });
    });
    window.addEventListener("afterprint", function () {
      reopened.forEach(function (d) { d.open = false; });
      reopened = [];
    });
  }

  function init() {
    safely("search", initSearch);
    $$("figure[data-graph]").forEach(function (f) { safely("graph", function () { initGraph(f); }); });
    $$("[data-timeline]").forEach(function (t) { safely("timeline", function () { initTimeline(t); }); });
    $$("[data-version-selector]").forEach(function (n) { safely("version selector", function () { initVersionSelector(n); }); });
    $$("table[data-paginate]").forEach(function (t) { safely("table", function () { initPaginate(t); }); });
    safely("print", initPrint);
    safely("anchors", revealTarget);
    window.addEventListener("hashchange", function () { safely("anchors", revealTarget); });
  }

  if (doc.readyState === "loading") { doc.addEventListener("DOMContentLoaded", init); } else { init(); }
}());
