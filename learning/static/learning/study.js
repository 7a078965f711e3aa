/* The lesson page: heartbeats while the page is visible and the learner active, video played
 * ranges, presence checks, the minutes still needed, the screen kept awake while studying and an
 * explanation of every removal of credited time. The server decides what is credited; this only
 * reports. Its words come from the translated data-text-* attributes of #study. */
(function () {
  "use strict";
  var root = document.getElementById("study");
  if (!root || root.dataset.canStudy !== "1") { return; }

  var cfg = root.dataset;
  var intervalMs = parseInt(cfg.interval, 10) * 1000;
  var idleMs = parseInt(cfg.idle, 10) * 1000;
  var statusEl = document.getElementById("study-status");
  var alertEl = document.getElementById("study-alert");
  var minutesEl = document.getElementById("study-minutes");
  var leftEl = document.getElementById("study-left");
  var wakeEl = document.getElementById("study-wake");
  var removedEl = document.getElementById("study-removed");
  var removedList = document.getElementById("study-removed-list");
  var barEl = document.querySelector("#study-progress .progress-bar");
  var progressEl = document.getElementById("study-progress");
  var video = document.getElementById("lesson-video");
  var modalEl = document.getElementById("presence-modal");
  var countdownEl = document.getElementById("presence-countdown");
  var confirmBtn = document.getElementById("presence-confirm");
  var requiredMs = parseInt(cfg.requiredMs, 10) || 1;

  var token = null, seq = 0, timer = null, stopped = false, lastActivity = Date.now();
  var played = [], rangeStart = null, lastTime = 0;
  var check = null, countdown = null, answeredId = 0;
  var modal = window.bootstrap ? window.bootstrap.Modal.getOrCreateInstance(modalEl) : null;
  /* Bootstrap ignores hide() while the modal is still fading in (and show() while fading out), so
   * the wanted state is kept here and applied again when a transition ends: an answer that comes
   * back quickly (or a check that expires at once) never leaves the modal open. */
  var modalWanted = false;
  function showModal() { modalWanted = true; if (modal) { modal.show(); } }
  function hideModal() { modalWanted = false; if (modal) { modal.hide(); } }

  function setStatus(text) { statusEl.textContent = text; }
  function showAlert(text) {
    if (!text) { alertEl.classList.add("d-none"); return; }
    alertEl.textContent = text; alertEl.classList.remove("d-none");
  }
  /* Time taken off while this page was not told (e.g. by the overdue sweep while the screen was off)
   * shows as a fall of the credited time: it is explained all the same. */
  var shownMs = parseInt(cfg.lessonMs, 10) || 0;
  function showProgress(lessonMs, explained) {
    if (lessonMs < shownMs && !explained) {
      showRemoval(window.portal.format(cfg.textRemoved, { minutes: ((shownMs - lessonMs) / 60000).toFixed(1) }));
    }
    shownMs = lessonMs;
    var pct = Math.min(100, Math.floor(lessonMs * 100 / requiredMs));
    barEl.style.width = pct + "%";
    progressEl.setAttribute("aria-valuenow", String(pct));
    minutesEl.textContent = String(Math.floor(Math.min(lessonMs, requiredMs) / 60000));
    var left = Math.ceil(Math.max(0, requiredMs - lessonMs) / 60000);
    leftEl.textContent = left > 0 ? window.portal.format(cfg.textLeft, { minutes: left }) : cfg.textLeftDone;
  }

  /* Every removal of credited time stays listed (with its time) until the page is left. */
  function showRemoval(message) {
    var item = document.createElement("li");
    var now = new Date();
    var time = ("0" + now.getHours()).slice(-2) + ":" + ("0" + now.getMinutes()).slice(-2);
    item.textContent = window.portal.format(cfg.textRemovedAt, { time: time, message: message });
    removedList.insertBefore(item, removedList.firstChild);
    removedEl.classList.remove("d-none");
  }

  /* Keep the screen on while studying (a phone's screen going off hides the page and stops the
   * time); where the browser cannot, say so. The lock is released when the page is hidden and
   * taken again when it is visible. */
  var wakeLock = null, done = false;
  function wakeHint(text) { wakeEl.textContent = text; wakeEl.classList.remove("d-none"); }
  function keepAwake() {
    if (stopped || done || document.visibilityState !== "visible") { return; }
    if (!("wakeLock" in navigator)) { wakeHint(cfg.textWakeOff); return; }
    if (wakeLock) { return; }
    navigator.wakeLock.request("screen").then(function (lock) {
      wakeLock = lock;
      wakeHint(cfg.textWakeOn);
      lock.addEventListener("release", function () { wakeLock = null; });
    }).catch(function () { wakeHint(cfg.textWakeOff); });
  }
  function releaseAwake() { if (wakeLock) { wakeLock.release(); wakeLock = null; } }

  /* keepalive: a heartbeat sent as the page is left still arrives. */
  function post(url, data) { return window.portal.postJSON(url, data, { keepalive: true }); }

  /* Activity: input, scrolling, touching, or a playing video. */
  ["keydown", "mousedown", "mousemove", "wheel", "scroll", "touchstart", "pointerdown"].forEach(function (name) {
    window.addEventListener(name, function () { lastActivity = Date.now(); }, { passive: true });
  });
  function videoPlaying() { return video && !video.paused && !video.ended; }
  function clientState() {
    if (document.visibilityState !== "visible") { return "hidden"; }
    if (videoPlaying() || Date.now() - lastActivity <= idleMs) { return "active"; }
    return "idle";
  }

  /* Played ranges of the video since the last heartbeat; a seek closes the range (the skipped part is never reported). */
  function closeRange(end) {
    if (rangeStart !== null && end > rangeStart) { played.push([rangeStart, end]); }
    rangeStart = null;
  }
  if (video) {
    video.addEventListener("play", function () { rangeStart = video.currentTime; lastTime = video.currentTime; });
    video.addEventListener("timeupdate", function () { if (!video.seeking) { lastTime = video.currentTime; } });
    video.addEventListener("seeking", function () { closeRange(lastTime); });
    video.addEventListener("seeked", function () { lastTime = video.currentTime; if (videoPlaying()) { rangeStart = video.currentTime; } });
    video.addEventListener("pause", function () { closeRange(video.currentTime); });
    video.addEventListener("ended", function () { closeRange(video.currentTime); });
  }
  function takePlayed() {
    if (!video) { return []; }
    var playing = videoPlaying();
    if (playing) { closeRange(video.currentTime); }
    var out = played; played = [];
    if (playing) { rangeStart = video.currentTime; }
    return out;
  }

  function schedule() {
    clearTimeout(timer);
    if (!stopped && document.visibilityState === "visible") { timer = setTimeout(beat, intervalMs); }
  }

  function stop(message) {
    stopped = true; clearTimeout(timer);
    clearInterval(countdown); check = null;
    hideModal();
    if (video) { video.pause(); }
    releaseAwake();
    showAlert(message);
    setStatus(message);
  }

  var handledSeq = 0;
  function handle(result, sentSeq) {
    var body = result.body || {};
    /* An answer overtaken by a later heartbeat's (or a replay) carries an older credited time. */
    var latest = !body.replay && sentSeq >= handledSeq;
    if (latest) { handledSeq = sentSeq; }
    if (result.status === 409 || result.status === 403) { stop(body.message || cfg.textError); return; }
    if (!body.ok) { setStatus(cfg.textError); return; }
    if (body.discarded_ms > 0) { showRemoval(body.message); }
    if (body.message) { showAlert(body.message); } else if (body.discarded_ms === 0) { showAlert(""); }
    if (latest && typeof body.lesson_ms === "number") { showProgress(body.lesson_ms, body.discarded_ms > 0); }
    /* An identity check is due (issue #23): nothing is credited until it passes; its page brings the
     * trainee back here. */
    if (body.identity && cfg.identityUrl) { stop(body.message); window.location.assign(cfg.identityUrl); return; }
    /* A heartbeat sent before the answer reached the server still carries the check just answered. */
    if (body.presence && body.presence.id !== answeredId && (!check || check.id !== body.presence.id)) {
      askPresence(body.presence);
    }
    if (body.completed) { setStatus(cfg.textDone); done = true; releaseAwake(); }
  }

  function beat(stateOverride) {
    if (stopped || !token) { return Promise.resolve(); }
    seq += 1;
    var state = stateOverride || clientState();
    setStatus(state === "active" ? cfg.textStudying : cfg.textPaused);
    var sentSeq = seq;
    return post(cfg.heartbeatUrl, { token: token, seq: seq, state: state, played: takePlayed() })
      .then(function (result) { handle(result, sentSeq); })
      .catch(function () { setStatus(cfg.textError); })
      .then(schedule);
  }

  /* Screen off / other app / other tab: report the time up to now, then stop. On return the first
   * heartbeat says "hidden" so the time away is never credited, and a new chain starts. */
  document.addEventListener("visibilitychange", function () {
    if (stopped || !token) { return; }
    clearTimeout(timer);
    if (document.visibilityState === "hidden") {
      beat(clientState() === "idle" ? "idle" : "active");
      clearTimeout(timer);
      if (video) { video.pause(); }
    } else {
      lastActivity = Date.now();
      beat("hidden");
      keepAwake();
    }
  });
  window.addEventListener("pagehide", function () {
    if (!stopped && token && document.visibilityState === "visible") { beat(); }
  });

  /* Presence checks: a modal answered within the time the server gives. */
  function askPresence(presence) {
    check = presence;
    var deadline = Date.now() + presence.seconds * 1000;
    clearInterval(countdown);
    function tick() {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      countdownEl.textContent = window.portal.format(cfg.textSeconds, { seconds: left });
      if (left <= 0) {
        clearInterval(countdown);
        hideModal();
        showAlert(cfg.textMissed);
        check = null;
      }
    }
    tick();
    countdown = setInterval(tick, 1000);
    showModal();
  }
  modalEl.addEventListener("shown.bs.modal", function () {
    if (modalWanted) { confirmBtn.focus(); } else { modal.hide(); }
  });
  modalEl.addEventListener("hidden.bs.modal", function () { if (modalWanted) { modal.show(); } });
  confirmBtn.addEventListener("click", function () {
    if (!check) { hideModal(); return; }
    var answered = check; check = null; answeredId = answered.id;
    clearInterval(countdown);
    lastActivity = Date.now();
    post(cfg.presenceUrl, { token: token, check: answered.id }).then(function (result) {
      hideModal();
      var body = result.body || {};
      if (result.status === 409) { stop(body.message); return; }
      if (body.code === "missed" && body.discarded_ms > 0) { showRemoval(body.message); }
      showAlert(body.code === "missed" ? body.message : "");
      /* (a missed answer was explained just above; an in-time answer takes nothing off) */
      if (typeof body.lesson_ms === "number") { showProgress(body.lesson_ms, true); }
    }).catch(function () { hideModal(); setStatus(cfg.textError); });
  });

  /* Start (or take over) the live session on this lesson. */
  post(cfg.startUrl, {}).then(function (result) {
    var body = result.body || {};
    if (!body.ok) { stop(body.message || cfg.textError); return; }
    token = body.token; seq = 0;
    requiredMs = body.required_ms || requiredMs;
    showProgress(body.lesson_ms || 0, false);
    if (video && body.position) {
      var resume = function () { video.currentTime = body.position; lastTime = body.position; };
      if (video.readyState >= 1) { resume(); } else { video.addEventListener("loadedmetadata", resume, { once: true }); }
    }
    setStatus(body.completed ? cfg.textDone : cfg.textStudying);
    done = !!body.completed;
    keepAwake();
    schedule();
  }).catch(function () { setStatus(cfg.textError); });
}());
