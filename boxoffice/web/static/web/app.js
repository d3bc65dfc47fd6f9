// Boxoffice pages work without this file; it only improves them.
(function () {
  "use strict";

  // A form marked data-submit-once disables its buttons once sent (the server's idempotency
  // key is what guarantees a double click books once; this just says "working on it").
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-submit-once]")) return;
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });

  // <time data-countdown="ISO"> counts down to its moment, then reloads the page once, which
  // then shows what the server says (e.g. the hold expired).
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.countdown) - Date.now()) / 1000);
      if (left <= 0) {
        el.textContent = "0:00";
        if (!el.dataset.reloaded) {
          el.dataset.reloaded = "1";
          window.setTimeout(function () { window.location.reload(); }, 1500);
        }
        return;
      }
      el.textContent = Math.floor(left / 60) + ":" + pad(left % 60);
    });
  }
  // The check-in form, sent by htmx: ready for the next scan (empty field, fresh nonce, focus).
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form.matches || !form.matches("form[data-checkin]")) return;
    form.querySelector("[name=code]").value = "";
    var nonce = form.querySelector("[name=nonce]");
    if (nonce && window.crypto && window.crypto.randomUUID) nonce.value = window.crypto.randomUUID();
    form.querySelector("[name=code]").focus();
  });

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 1000);
  });
})();
