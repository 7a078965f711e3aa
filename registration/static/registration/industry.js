/* The unit and individual forms: a high-risk industry is refused as soon as it is chosen, not only
 * after the whole form is submitted. The codes and the words come from the industry list's
 * data-high-risk / data-high-risk-message attributes, rendered by the server from the one place the
 * rule lives (registration/validators.py); the server still refuses them on submit. */
(function () {
  "use strict";
  var select = document.querySelector("select[data-high-risk]");
  if (!select) { return; }
  var codes = (select.getAttribute("data-high-risk") || "").split(/\s+/);
  var message = select.getAttribute("data-high-risk-message") || "";
  var box = document.createElement("div");
  box.id = select.id + "-high-risk";
  box.className = "alert alert-danger py-2 mt-2 mb-0 small";
  box.setAttribute("role", "alert");
  box.hidden = true;
  (select.parentNode || document.body).appendChild(box);

  function update() {
    var option = select.options[select.selectedIndex];
    var refused = !!option && codes.indexOf(select.value) !== -1;
    box.hidden = !refused;
    box.textContent = refused ? window.portal.format(message, { industry: option.text }) : "";
    select.classList.toggle("is-invalid", refused);
    var described = (select.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (id) {
      return id && id !== box.id;
    });
    if (refused) { described.push(box.id); }
    select.setAttribute("aria-describedby", described.join(" "));
    if (!described.length) { select.removeAttribute("aria-describedby"); }
  }

  select.addEventListener("change", update);
  update();
})();
