// Sorting, filtering and claim links of the leaderboard page (no network, no libraries).
(function () {
  "use strict";
  function key(cell) {
    var v = parseFloat(cell.textContent.replace(/,/g, ""));
    return isNaN(v) ? null : v;
  }
  function sortBy(th) {
    var table = th.closest("table"), body = table.tBodies[0];
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var dir = th.getAttribute("aria-sort") === "descending" ? "ascending" : "descending";
    table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir);
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col]), y = key(b.cells[col]);
      if (x === null && y === null) {
        return a.cells[col].textContent.localeCompare(b.cells[col].textContent) *
          (dir === "ascending" ? 1 : -1);
      }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
      return dir === "ascending" ? x - y : y - x;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function applyFilters() {
    var want = {};
    document.querySelectorAll("nav.filters select").forEach(function (s) {
      want[s.dataset.attr] = s.value;
    });
    function ok(el, attrs) {
      return attrs.every(function (a) {
        return !want[a] || el.dataset[a] === undefined || el.dataset[a] === want[a];
      });
    }
    var shown = 0;
    document.querySelectorAll("[data-filterable]").forEach(function (el) {
      var visible = ok(el, ["family", "profile", "regime"]);
      if (visible) {
        var rows = el.querySelectorAll("tr[data-method]"), any = rows.length === 0;
        rows.forEach(function (r) {
          var keep = !want.method || r.dataset.method === want.method;
          r.hidden = !keep;
          any = any || keep;
        });
        visible = any;
      }
      el.hidden = !visible;
      if (visible && el.tagName === "SECTION") { shown += 1; }
    });
    var count = document.getElementById("shown");
    if (count) { count.textContent = shown + " task tables shown"; }
  }
  function openTarget() {
    // a link to a claim's checks opens them
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (el && el.tagName === "DETAILS") { el.open = true; el.scrollIntoView(); }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("th.sortable").forEach(function (th) {
      th.addEventListener("click", function () { sortBy(th); });
    });
    document.querySelectorAll("nav.filters select").forEach(function (s) {
      s.addEventListener("change", applyFilters);
    });
    window.addEventListener("hashchange", openTarget);
    applyFilters();
    openTarget();
  });
})();
