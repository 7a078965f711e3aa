/* The exam page: save every answer on the server as it is given, keep the answer sheet up to date,
 * show the server's remaining time, and confirm before submitting. Works without it too (the form
 * posts every answer on submit). */
(function () {
  "use strict";
  var form = document.getElementById("exam-form");
  if (!form) { return; }
  var i18n = document.getElementById("i18n").dataset;
  var statusEl = document.getElementById("save-status");
  var timerEl = document.getElementById("exam-timer");
  var pending = {};   // position -> choices not yet saved
  var inflight = {};
  var confirmed = false;
  var finished = false;

  function choicesOf(position) {
    var inputs = form.querySelectorAll("input[name=q" + position + "]:checked");
    return Array.prototype.map.call(inputs, function (i) { return parseInt(i.value, 10); });
  }

  function markSheet(position, answered) {
    var link = document.querySelector(".sheet-item[data-position='" + position + "']");
    if (!link) { return; }
    link.classList.toggle("btn-success", answered);
    link.classList.toggle("btn-outline-secondary", !answered);
    var state = link.querySelector(".sheet-state");
    if (state) { state.textContent = " " + (answered ? i18n.answered : i18n.unanswered); }
    document.getElementById("answered-count").textContent =
      document.querySelectorAll(".sheet-item.btn-success").length;
  }

  function unansweredNumbers() {
    return Array.prototype.map.call(
      document.querySelectorAll(".sheet-item.btn-outline-secondary"),
      function (a) { return a.dataset.position; });
  }

  function goToResult() {
    if (finished) { return; }
    finished = true;
    window.location.href = form.dataset.resultUrl;
  }

  function save(position) {
    if (inflight[position]) { return; }
    var choices = pending[position];
    inflight[position] = true;
    window.portal.postJSON(form.dataset.answerUrl, { position: position, choices: choices }).then(function (r) {
      inflight[position] = false;
      if (r.body.expired) { goToResult(); return; }
      if (!r.body.ok) { statusEl.textContent = r.body.error || i18n.failed; return; }
      if (pending[position] === choices) { delete pending[position]; }
      statusEl.textContent = i18n.saved;
      if (typeof r.body.remaining_seconds === "number") { setRemaining(r.body.remaining_seconds); }
      if (pending[position]) { save(position); }
    }).catch(function () {
      inflight[position] = false;
      statusEl.textContent = i18n.failed;
      window.setTimeout(function () { if (pending[position]) { save(position); } }, 3000);
    });
  }

  form.addEventListener("change", function (event) {
    var fieldset = event.target.closest("[data-position]");
    if (!fieldset) { return; }
    var position = parseInt(fieldset.dataset.position, 10);
    var choices = choicesOf(position);
    pending[position] = choices;
    markSheet(position, choices.length > 0);
    save(position);
  });

  // Timer: the server's remaining seconds, counted down locally and re-synchronised every minute.
  var endsAt = 0;
  function setRemaining(seconds) { endsAt = Date.now() + seconds * 1000; }
  setRemaining(parseInt(timerEl.dataset.remaining, 10) || 0);
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
    var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    timerEl.textContent = (h ? h + ":" : "") + pad(m) + ":" + pad(s);
    timerEl.classList.toggle("text-danger", left <= 300);
    if (left <= 0) { sync(); }
  }
  function sync() {
    fetch(form.dataset.stateUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (data.expired) { goToResult(); return; }
        /* The random identity check during the exam (issue #23): its page brings the taker back. */
        if (data.identity_url) { window.location.assign(data.identity_url); return; }
        if (typeof data.remaining_seconds === "number") { setRemaining(data.remaining_seconds); }
      })
      .catch(function () { /* keep counting; the server grades at the deadline anyway */ });
  }
  tick();
  window.setInterval(tick, 1000);
  window.setInterval(sync, 60000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { sync(); } });

  // The answer sheet: jump to a question (closing the panel on a phone).
  document.getElementById("sheet").addEventListener("click", function (event) {
    var link = event.target.closest("a.sheet-item");
    if (!link) { return; }
    var sheet = document.getElementById("answer-sheet");
    if (window.bootstrap && sheet.classList.contains("show")) {
      var panel = window.bootstrap.Offcanvas.getInstance(sheet);
      if (panel) { panel.hide(); }
    }
    var target = document.getElementById("q" + link.dataset.position);
    if (target) { window.setTimeout(function () { target.focus(); }, 0); }
  });

  // 确认交卷: list the unanswered questions, or ask for confirmation.
  var modalEl = document.getElementById("confirm-modal");
  form.addEventListener("submit", function (event) {
    if (confirmed || !window.bootstrap) { return; }
    event.preventDefault();
    var missing = unansweredNumbers();
    var warning = document.getElementById("confirm-unanswered");
    var ready = document.getElementById("confirm-ready");
    var button = document.getElementById("confirm-submit");
    if (missing.length) {
      warning.textContent = window.portal.format(warning.dataset.template, { numbers: missing.join(", ") });
      warning.classList.remove("d-none");
      ready.classList.add("d-none");
      button.disabled = true;
    } else {
      warning.classList.add("d-none");
      ready.classList.remove("d-none");
      button.disabled = false;
    }
    window.bootstrap.Modal.getOrCreateInstance(modalEl).show();
  });
  document.getElementById("confirm-submit").addEventListener("click", function () {
    confirmed = true;
    finished = true;
    this.disabled = true;
    form.submit();
  });
})();
