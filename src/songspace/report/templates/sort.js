// Sorts a table.sortable of report.html's appendix by the column whose header button is pressed: first the way the
// header's data-first says (the best values first), then the other way. A cell sorts by its data-v when it has one
// (a number; empty = undefined, always last), else by its text. Equal keys keep the table's order.
(function () {
  "use strict";
  function key(cell) {
    if (cell === undefined) return "";
    if (cell.hasAttribute("data-v")) {
      var v = parseFloat(cell.getAttribute("data-v"));
      return isNaN(v) ? null : v;
    }
    return cell.textContent.trim().toLowerCase();
  }
  function compare(a, b, sign) {
    if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
    return a < b ? -sign : a > b ? sign : 0;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead.rows[table.tHead.rows.length - 1].cells;
    var body = table.tBodies[0];
    Array.prototype.forEach.call(body.rows, function (row, i) { row.setAttribute("data-i", i); });
    Array.prototype.forEach.call(heads, function (th, col) {
      var button = th.querySelector("button");
      if (!button) return;
      button.addEventListener("click", function () {
        var now = th.getAttribute("aria-sort");
        var order = now === "ascending" ? "descending" : now === "descending" ? "ascending"
          : th.getAttribute("data-first") || "ascending";
        Array.prototype.forEach.call(heads, function (h) { if (h.hasAttribute("aria-sort")) h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", order);
        var sign = order === "ascending" ? 1 : -1;
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          return compare(key(a.cells[col]), key(b.cells[col]), sign)
            || a.getAttribute("data-i") - b.getAttribute("data-i");
        });
        rows.forEach(function (row) { row.classList.remove("group"); body.appendChild(row); });
      });
    });
  });
})();
