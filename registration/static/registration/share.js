/* "Copy link" and "Share" for private links (a trainee's attachment 2, an application). Markup:
 * <div data-share data-url="…" data-title="…" data-copied="…" data-select="…"> with a
 * [data-share-copy] button, a hidden [data-share-native] button (shown where navigator.share
 * exists, not in WeChat), a hidden read-only [data-share-input] and a [data-share-status] line.
 * Copy uses navigator.clipboard; where it is missing or refused (WeChat's browser, plain http)
 * the link is shown selected in the input and document.execCommand("copy") is tried, otherwise
 * the status asks to copy it by hand. Every word shown comes from the data attributes. */
(function () {
  "use strict";

  function parts(box) {
    return {
      input: box.querySelector("[data-share-input]"),
      status: box.querySelector("[data-share-status]"),
      url: box.getAttribute("data-url"),
      title: box.getAttribute("data-title") || document.title,
      copied: box.getAttribute("data-copied") || "",
      select: box.getAttribute("data-select") || ""
    };
  }

  function fallback(p) {
    p.input.hidden = false;
    p.input.value = p.url;
    p.input.focus();
    p.input.select();
    try { p.input.setSelectionRange(0, p.url.length); } catch (error) { /* not a text input */ }
    var done = false;
    try { done = document.execCommand("copy"); } catch (error) { done = false; }
    p.status.textContent = done ? p.copied : p.select;
  }

  function copy(box) {
    var p = parts(box);
    if (navigator.clipboard && window.isSecureContext && !document.body.hasAttribute("data-in-wechat")) {
      navigator.clipboard.writeText(p.url).then(function () { p.status.textContent = p.copied; },
        function () { fallback(p); });
    } else {
      fallback(p);
    }
  }

  function share(box) {
    var p = parts(box);
    navigator.share({ title: p.title, url: p.url }).catch(function (error) {
      if (!error || error.name !== "AbortError") { fallback(p); }
    });
  }

  var canShare = typeof navigator.share === "function" && !document.body.hasAttribute("data-in-wechat");
  Array.prototype.forEach.call(document.querySelectorAll("[data-share] [data-share-native]"), function (button) {
    button.hidden = !canShare;
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-share-copy], [data-share-native]") : null;
    var box = button ? button.closest("[data-share]") : null;
    if (!box) { return; }
    event.preventDefault();
    if (button.hasAttribute("data-share-native")) { share(box); } else { copy(box); }
  });
})();
