// Review queue: keyboard shortcuts for the decision buttons (a approve, r return, x reject, n skip).
// Inactive while the reviewer types in a field; Esc leaves the field. Return and reject need a
// reason: without one the key shows the page's hint and puts the focus on the reasons instead.
(function () {
  "use strict";
  var TEXT_INPUTS = ["checkbox", "radio", "button", "submit", "reset"];

  function typing(element) {
    if (!element || element === document.body) return false;
    if (element.isContentEditable) return true;
    var tag = element.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    return tag === "INPUT" && TEXT_INPUTS.indexOf((element.type || "").toLowerCase()) === -1;
  }

  function reasonGiven(form) {
    var text = form.querySelector("textarea[name=reason]");
    return Boolean(form.querySelector("input[name=presets]:checked")) || Boolean(text && text.value.trim());
  }

  function start() {
    var form = document.getElementById("review-queue-form");
    if (!form) return;
    var buttons = {};
    Array.prototype.forEach.call(form.querySelectorAll("button[data-shortcut]"), function (button) {
      buttons[button.dataset.shortcut] = button;
    });
    var hint = document.getElementById("review-queue-hint");
    var sent = false;
    form.addEventListener("submit", function (event) {
      if (sent) event.preventDefault();
      sent = true;
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && typing(event.target)) {
        event.target.blur();
        return;
      }
      if (event.ctrlKey || event.metaKey || event.altKey || event.repeat || typing(event.target)) return;
      var button = buttons[(event.key || "").toLowerCase()];
      if (!button || button.disabled) return;
      event.preventDefault();
      if (button.dataset.needsReason && !reasonGiven(form)) {
        if (hint) hint.hidden = false;
        var first = form.querySelector("input[name=presets]") || form.querySelector("textarea[name=reason]");
        if (first) first.focus();
        return;
      }
      if (form.requestSubmit) form.requestSubmit(button);
      else button.click();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
