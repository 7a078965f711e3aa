/* The roster of attachment 1: add and remove rows in the page (progressive enhancement).
 *
 * Without JavaScript the page still works: "Add a trainee" posts the form and the server returns it
 * with blank rows; "Leave out this row" checkboxes drop rows on submit. With JavaScript rows are
 * added from the formset's empty_form <template> and removed for real; the remaining rows are
 * renumbered so the formset's indices stay 0..n-1. Works with hundreds of rows. Its words come from
 * the container's data-text-* attributes (translated in the template).
 */
(function () {
  "use strict";

  var container = document.querySelector("[data-roster]");
  var template = document.getElementById("roster-empty-row");
  if (!container || !template) {
    return;
  }
  var prefix = container.getAttribute("data-prefix");
  var max = parseInt(container.getAttribute("data-max"), 10) || 1000;
  var feeInitial = parseInt(container.getAttribute("data-fee-initial"), 10) || 0;
  var feeRefresher = parseInt(container.getAttribute("data-fee-refresher"), 10) || 0;
  var totalInput = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
  var addButton = document.querySelector("[data-roster-add]");
  var countBadge = document.querySelector("[data-roster-count]");
  var feeLine = document.querySelector("[data-roster-fee]");
  var indexPattern = new RegExp("^(id_|row-)?" + prefix + "-(\\d+|__prefix__)-");
  var text = container.dataset;

  function rows() {
    return container.querySelectorAll("[data-roster-row]");
  }

  function reindexAttr(el, attr, index) {
    var value = el.getAttribute(attr);
    if (value && indexPattern.test(value)) {
      el.setAttribute(attr, value.replace(indexPattern, function (match, head) {
        return (head || "") + prefix + "-" + index + "-";
      }));
    }
  }

  function reindex(row, index) {
    if (row.id) {
      row.id = "row-" + prefix + "-" + index;
    }
    var number = row.querySelector("[data-row-number]");
    if (number) {
      number.textContent = String(index + 1);
    }
    var fields = row.querySelectorAll("input, select, textarea, label, .invalid-feedback");
    for (var i = 0; i < fields.length; i++) {
      reindexAttr(fields[i], "name", index);
      reindexAttr(fields[i], "id", index);
      reindexAttr(fields[i], "for", index);
      reindexAttr(fields[i], "aria-describedby", index);
    }
  }

  function yuan(fen) {
    return (fen / 100).toFixed(2).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function refresh() {
    var all = rows();
    totalInput.value = String(all.length);
    var filled = 0;
    var fee = 0;
    for (var i = 0; i < all.length; i++) {
      var row = all[i];
      var name = row.querySelector("input[name$='-name']");
      var category = row.querySelector("[data-roster-category]");
      if (name && name.value.trim() !== "") {
        filled += 1;
        if (category && category.value === "refresher") {
          fee += feeRefresher;
        } else if (category && category.value === "initial") {
          fee += feeInitial;
        }
      }
    }
    if (countBadge) {
      // The two forms the portal's languages need: one (1 row) and other (2 rows; 行 for both).
      var rowsText = all.length === 1 ? text.textRowsOne : text.textRowsOther;
      countBadge.textContent = window.portal.format(rowsText, { count: all.length });
    }
    if (feeLine) {
      feeLine.textContent = filled ? window.portal.format(text.textFee, { filled: filled, fee: yuan(fee) }) : "";
    }
    if (addButton) {
      addButton.disabled = all.length >= max;
    }
  }

  function enhance(row) {
    var check = row.querySelector("[data-roster-delete]");
    var remove = row.querySelector("[data-roster-remove]");
    if (check) {
      check.classList.add("d-none");
      var box = check.querySelector("input[type=checkbox]");
      if (box) {
        box.checked = false;
      }
    }
    if (remove) {
      remove.classList.remove("d-none");
    }
  }

  function addRow() {
    var index = rows().length;
    if (index >= max) {
      return;
    }
    var html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/__num__/g, String(index + 1));
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    enhance(row);
    container.appendChild(row);
    refresh();
    var first = row.querySelector("input[type=text]");
    if (first) {
      first.focus();
    }
  }

  function removeRow(row) {
    var all = Array.prototype.slice.call(rows());
    var position = all.indexOf(row);
    if (position < 0) {
      return;
    }
    var next = all[position + 1] || all[position - 1];
    row.parentNode.removeChild(row);
    all.splice(position, 1);
    for (var i = position; i < all.length; i++) {
      reindex(all[i], i);
    }
    if (all.length === 0) {
      addRow();
      return;
    }
    refresh();
    var focusTarget = next && next.querySelector("input[type=text]");
    if (focusTarget) {
      focusTarget.focus();
    } else if (addButton) {
      addButton.focus();
    }
  }

  // Rows that a non-JS user marked "leave out" before: remove them now so numbering is honest.
  var initial = Array.prototype.slice.call(rows());
  for (var i = 0; i < initial.length; i++) {
    var box = initial[i].querySelector("[data-roster-delete] input[type=checkbox]");
    if (box && box.checked) {
      initial[i].parentNode.removeChild(initial[i]);
    }
  }
  var remaining = rows();
  for (var j = 0; j < remaining.length; j++) {
    reindex(remaining[j], j);
    enhance(remaining[j]);
  }

  if (addButton) {
    addButton.addEventListener("click", function (event) {
      event.preventDefault();
      addRow();
    });
  }
  container.addEventListener("click", function (event) {
    var button = event.target.closest("[data-roster-remove]");
    if (button) {
      event.preventDefault();
      removeRow(button.closest("[data-roster-row]"));
    }
  });
  container.addEventListener("change", refresh);
  container.addEventListener("input", function (event) {
    if (event.target.name && /-name$/.test(event.target.name)) {
      refresh();
    }
  });
  refresh();
})();
