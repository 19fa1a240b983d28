// svcreg web UI: table sorting, copy buttons, live LAN updates, "/" to
// search. Pages work without it.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var sevRank = { "": 0, info: 1, warning: 2, error: 3 };

  function cellKey(row, i, type) {
    var c = row.cells[i];
    if (!c) return "";
    var v = c.hasAttribute("data-sort") ? c.getAttribute("data-sort") : c.textContent.trim();
    if (type === "sev") return sevRank[v] !== undefined ? sevRank[v] : Number(v) || 0;
    if (type === "num") return v === "" ? -1 : Number(v);
    return v.toLowerCase();
  }

  function sortBy(table, th, i) {
    var type = th.getAttribute("data-type") || "text";
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (r, n) { r._n = n; });
    rows.sort(function (a, b) {
      var x = cellKey(a, i, type), y = cellKey(b, i, type);
      if (x < y) return -dir;
      if (x > y) return dir;
      return a._n - b._n;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
  }

  function initSorting(root) {
    Array.prototype.forEach.call(root.querySelectorAll("table.sortable"), function (table) {
      if (!table.tHead || !table.tBodies[0]) return;
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
        if (th.querySelector("button.sort")) return;
        var b = document.createElement("button");
        b.type = "button";
        b.className = "sort";
        b.textContent = th.textContent;
        b.title = "Sort by " + th.textContent.toLowerCase();
        th.textContent = "";
        th.appendChild(b);
        b.addEventListener("click", function () { sortBy(table, th, i); });
      });
    });
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var ta = document.createElement("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.className = "vh";
      document.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(ta);
      if (ok) resolve(); else reject(new Error("copy failed"));
    });
  }

  function initCopy(root) {
    Array.prototype.forEach.call(root.querySelectorAll("button.copy[data-copy]"), function (b) {
      b.hidden = false;
      var label = b.textContent;
      b.setAttribute("aria-label", label === "Copy" ? "Copy command" : label);
      b.addEventListener("click", function () {
        var el = document.getElementById(b.getAttribute("data-copy"));
        if (!el) return;
        copyText(el.textContent).then(function () {
          b.textContent = "Copied";
          b.classList.add("done");
          setTimeout(function () { b.textContent = label; b.classList.remove("done"); }, 1500);
        }, function () {
          var r = document.createRange();
          r.selectNodeContents(el);
          var s = window.getSelection();
          s.removeAllRanges();
          s.addRange(r);
          b.textContent = "Press Ctrl+C";
        });
      });
    });
  }

  // Live LAN updates: each server-sent "change" event (or, without
  // EventSource, a poll every few seconds) refetches the results fragment
  // for the current filter and swaps it in; open <details> stay open.
  function initLive() {
    var live = document.getElementById("lan-live");
    if (!live) return;
    var form = document.getElementById("lan-filter");
    var busy = false, again = false;

    function query() {
      if (!form) return "";
      var p = new URLSearchParams();
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && el.value) p.set(el.name, el.value);
      });
      var s = p.toString();
      return s ? "?" + s : "";
    }

    function refresh() {
      if (busy) { again = true; return; }
      busy = true;
      var open = {};
      Array.prototype.forEach.call(live.querySelectorAll("tr[id] details[open]"), function (d) {
        var tr = d.closest("tr");
        open[tr.id + "/" + d.querySelector("summary").textContent] = true;
      });
      fetch(live.getAttribute("data-fragment") + query(), { headers: { Accept: "text/html" }, cache: "no-store" })
        .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
        .then(function (html) {
          live.innerHTML = html;
          Array.prototype.forEach.call(live.querySelectorAll("tr[id] details"), function (d) {
            if (open[d.closest("tr").id + "/" + d.querySelector("summary").textContent]) d.open = true;
          });
          initSorting(live);
          live.setAttribute("data-updated", String(Date.now()));
        })
        .catch(function () { /* keep the old table; the next event retries */ })
        .then(function () {
          busy = false;
          if (again) { again = false; refresh(); }
        });
    }

    var pollTimer = null;
    function poll() { if (!pollTimer) pollTimer = setInterval(refresh, 5000); }

    if (window.EventSource) {
      var es = new EventSource(live.getAttribute("data-events"));
      es.addEventListener("change", refresh);
      es.addEventListener("open", function () {
        if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
      });
      es.addEventListener("error", function () {
        // The browser reconnects by itself; poll meanwhile, and for good
        // once it gives up (readyState CLOSED).
        poll();
      });
    } else {
      poll();
    }

    if (form) {
      Array.prototype.forEach.call(form.querySelectorAll("select, input"), function (el) {
        el.addEventListener("change", function () {
          history.replaceState(null, "", "/lan" + query());
          refresh();
        });
      });
    }
  }

  function initKeys() {
    document.addEventListener("keydown", function (e) {
      if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
      var t = e.target;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
      var q = document.getElementById("q");
      if (q) { e.preventDefault(); q.focus(); q.select(); }
    });
  }

  function init() {
    initSorting(document);
    initCopy(document);
    initLive();
    initKeys();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
