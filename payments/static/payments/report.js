/* Payment page: after a report with mistakes, move to the error summary at the top (focus, so a
 * screen reader reads it, and scroll); each entry of the summary moves to its field and focuses it.
 * No inline handlers (CSP). */
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (!summary) {
    return;
  }
  summary.focus({ preventScroll: true });
  summary.scrollIntoView({ block: "start" });
  summary.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href^='#']") : null;
    var target = link && document.getElementById(link.getAttribute("href").slice(1));
    if (!target) {
      return;
    }
    var field = target.matches("input, select, textarea") ? target : target.querySelector("input, select, textarea");
    event.preventDefault();
    target.scrollIntoView({ block: "center" });
    if (field) {
      field.focus({ preventScroll: true });
    }
  });
})();
