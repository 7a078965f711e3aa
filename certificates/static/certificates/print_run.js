// Bulk print run page: poll the run's status until the PDF is ready (or failed).
(function () {
  "use strict";
  function start() {
    var box = document.getElementById("print-run-progress");
    if (!box) return;
    var bar = document.getElementById("print-run-bar");
    var text = document.getElementById("print-run-text");
    var download = document.getElementById("print-run-download");
    function poll() {
      fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { window.setTimeout(poll, 5000); return; }
          bar.max = data.total;
          bar.value = data.done;
          text.textContent = data.status_label + " · " + data.done + "/" + data.total + (data.error ? " · " + data.error : "");
          if (data.status === "done") {
            download.hidden = false;
          } else if (data.status !== "failed") {
            window.setTimeout(poll, 1500);
          }
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    poll();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
