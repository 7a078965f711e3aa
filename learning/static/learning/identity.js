/* The identity check page (issue #23): two camera frames a second apart, posted to the server, which
 * compares them with the registered photo in a Celery task; the page polls the decision. Or the
 * SMS code. Every word shown comes from the template's data attributes. */
(function () {
  "use strict";
  var root = document.getElementById("identity");
  if (!root) { return; }
  var cfg = root.dataset;
  var statusEl = document.getElementById("identity-status");
  var backEl = document.getElementById("identity-back");
  var video = document.getElementById("identity-video");
  var captureBtn = document.getElementById("identity-capture");
  var codeForm = document.getElementById("identity-code-form");
  var check = null;
  var stream = null;

  function show(text, kind) {
    statusEl.textContent = text || "";
    statusEl.className = "alert alert-" + (kind || "info") + (text ? "" : " d-none");
  }

  function urlFor(template, id) { return template.replace("/0/", "/" + id + "/"); }

  function start() {
    return window.portal.postJSON(cfg.startUrl, {}).then(function (result) {
      if (!result.body.ok) { throw new Error(result.body.message || cfg.textError); }
      check = result.body;
      return check;
    });
  }

  function finished(body) {
    if (body.passed) {
      show(cfg.textPassed, "success");
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
      backEl.classList.remove("d-none");
      setTimeout(function () { window.location.assign(cfg.nextUrl); }, 1500);
      return;
    }
    show(body.message + (body.review ? " " + cfg.textReview : ""), "warning");
    check = null;
    if (captureBtn) { captureBtn.disabled = false; }
  }

  function poll(id, tries) {
    fetch(urlFor(cfg.statusUrl, id), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (body.waiting && tries > 0) { setTimeout(function () { poll(id, tries - 1); }, 1000); return; }
        finished(body);
      })
      .catch(function () { show(cfg.textError, "danger"); if (captureBtn) { captureBtn.disabled = false; } });
  }

  /* ---- camera ---- */
  function grab() {
    var canvas = document.createElement("canvas");
    var scale = Math.min(1, 640 / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return canvas.toDataURL("image/jpeg", 0.85);
  }

  function capture() {
    captureBtn.disabled = true;
    show(cfg.textHold, "info");
    var frames = [];
    (check ? Promise.resolve(check) : start())
      .then(grab)
      .then(function (frame) {
        frames.push(frame);
        return new Promise(function (resolve) { setTimeout(resolve, 1000); });
      })
      .then(grab)
      .then(function (frame) {
        frames.push(frame);
        show(cfg.textComparing, "info");
        return window.portal.postJSON(urlFor(cfg.captureUrl, check.id), { first: frames[0], second: frames[1] });
      })
      .then(function (result) {
        if (!result.body.ok) { check = null; throw new Error(result.body.message || cfg.textError); }
        poll(result.body.id, 120);
      })
      .catch(function (error) { show(error.message || cfg.textError, "danger"); captureBtn.disabled = false; });
  }

  function cameraStart(button) {
    button.disabled = true;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      show(cfg.textCameraError, "danger");
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: { ideal: 640 } }, audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        return video.play();
      })
      .then(function () { button.disabled = false; })
      .catch(function () { show(cfg.textCameraError, "danger"); });
  }

  if (video && captureBtn) {
    cameraStart(captureBtn);
    captureBtn.addEventListener("click", capture);
  }

  /* ---- the exam photo of an SMS-code check (one frame, reviewed by staff, not compared) ---- */
  var photoBtn = document.getElementById("identity-photo");
  if (video && photoBtn) {
    cameraStart(photoBtn);
    photoBtn.addEventListener("click", function () {
      photoBtn.disabled = true;
      (check ? Promise.resolve(check) : start())
        .then(function () {
          return window.portal.postJSON(urlFor(cfg.captureUrl, check.id), { first: grab() });
        })
        .then(function (result) {
          if (!result.body.ok) { throw new Error(result.body.message || cfg.textError); }
          show(photoBtn.dataset.textPhotoDone, "success");
          photoBtn.disabled = false;
        })
        .catch(function (error) { show(error.message || cfg.textError, "danger"); photoBtn.disabled = false; });
    });
  }

  /* ---- SMS code ---- */
  if (codeForm) {
    document.getElementById("identity-send").addEventListener("click", function () {
      start().then(function () { show("", "info"); document.getElementById("identity-code").focus(); })
        .catch(function (error) { show(error.message, "danger"); });
    });
    codeForm.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!check) { return; }
      window.portal.postJSON(urlFor(cfg.codeUrl, check.id), { code: document.getElementById("identity-code").value })
        .then(function (result) {
          if (result.body.ok) { finished(result.body); } else { show(result.body.message || cfg.textError, "danger"); }
        })
        .catch(function () { show(cfg.textError, "danger"); });
    });
  }
})();
