/* Shared by the portal's scripts; base.html loads it before them. Scripts take every word they show
 * from data attributes the template fills with {% translate %}, never from the page language. */
(function () {
  "use strict";

  /* The CSRF token of the page: every page has a form with {% csrf_token %} (the language switch),
   * and the cookie is not readable by scripts in production (CSRF_COOKIE_HTTPONLY). */
  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  /* POST `data` as JSON to `url` with the CSRF token. Resolves to {status, body} (body: the JSON
   * answer); rejects when the network fails or the answer is not JSON. `options.keepalive`: the
   * request may outlive the page (a heartbeat sent while the page is being left). */
  function postJSON(url, data, options) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: !!(options && options.keepalive),
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" },
      body: JSON.stringify(data)
    }).then(function (response) {
      return response.json().then(function (body) { return { status: response.status, body: body }; });
    });
  }

  /* Fill the %(name)s placeholders of a translated text: format("%(n)s 行", {n: 3}). */
  function format(text, values) {
    return String(text || "").replace(/%\((\w+)\)s/g, function (match, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : match;
    });
  }

  window.portal = { csrfToken: csrfToken, postJSON: postJSON, format: format };
})();
