/* The unit form: the confirmation "the unit trains in the programme's area" (#area-confirm) shows
 * as soon as the credit code typed is registered elsewhere (its characters 3-8, the administrative
 * division code, do not start with data-area-prefix). The server applies the same rule. */
(function () {
  "use strict";
  var box = document.getElementById("area-confirm");
  var input = document.getElementById("id_invoice_tax_id");
  if (!box || !input) { return; }
  var prefix = box.getAttribute("data-area-prefix") || "";

  function update() {
    var code = input.value.replace(/[\s-]/g, "").toUpperCase();
    if (code.length !== 18) { return; }  // not finished: leave it as it is
    box.hidden = code.slice(2, 8).indexOf(prefix) === 0;
  }

  input.addEventListener("input", update);
  input.addEventListener("change", update);
  update();
})();
