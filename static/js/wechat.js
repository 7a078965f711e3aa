/* WeChat's built-in browser does not download files: a link marked data-download opens an overlay
 * (templates/portal/_wechat_overlay.html, on the page only inside WeChat) that says how to open
 * the page in the phone's browser, with the link ready to copy. Accessible: role=dialog, focus
 * moves in and stays in, Esc or a close button closes it and focus goes back to the link. */
(function () {
  "use strict";

  var overlay = document.getElementById("wechat-overlay");
  if (!overlay) { return; }
  var panel = overlay.querySelector("[role=dialog]");
  var title = document.getElementById("wechat-overlay-title");
  var input = document.getElementById("wechat-overlay-link");
  var status = document.getElementById("wechat-overlay-status");
  var words = { copied: status.getAttribute("data-copied"), select: status.getAttribute("data-select") };
  var opener = null;

  function focusable() {
    return Array.prototype.filter.call(
      panel.querySelectorAll("button, input, a[href], [tabindex]:not([tabindex='-1'])"),
      function (element) { return !element.disabled && element.offsetParent !== null; }
    );
  }

  function open(link) {
    opener = link;
    input.value = link.href;
    status.textContent = "";
    overlay.hidden = false;
    document.body.classList.add("wechat-overlay-open");
    title.focus();
  }

  function close() {
    overlay.hidden = true;
    document.body.classList.remove("wechat-overlay-open");
    if (opener) { opener.focus(); }
    opener = null;
  }

  function selectLink() {
    input.focus();
    input.select();
    try { input.setSelectionRange(0, input.value.length); } catch (error) { /* not a text input */ }
  }

  function copied() { status.textContent = words.copied; }

  function fallback() {
    selectLink();
    var done = false;
    try { done = document.execCommand("copy"); } catch (error) { done = false; }
    status.textContent = done ? words.copied : words.select;
  }

  function copy() {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(copied, fallback);
    } else {
      fallback();
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-download]") : null;
    if (!link) { return; }
    event.preventDefault();
    open(link);
  });

  overlay.addEventListener("click", function (event) {
    if (event.target === overlay || event.target.closest("[data-wechat-close]")) { close(); }
    else if (event.target.closest("[data-wechat-copy]")) { copy(); }
  });
  input.addEventListener("focus", function () { input.select(); });

  document.addEventListener("keydown", function (event) {
    if (overlay.hidden) { return; }
    if (event.key === "Escape" || event.key === "Esc") {
      event.preventDefault();
      close();
    } else if (event.key === "Tab") {
      var items = focusable();
      if (!items.length) { return; }
      var first = items[0], last = items[items.length - 1];
      if (event.shiftKey && (document.activeElement === first || document.activeElement === title)) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    }
  });
})();
