// Countersign's only script: small progressive enhancements. Every page works without it.
(function () {
  "use strict";

  // htmx requests carry the session's CSRF token from the page's meta tag.
  document.addEventListener("htmx:configRequest", function (e) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { e.detail.headers["X-CSRF-Token"] = meta.content; }
  });

  // Ask before an irreversible action: buttons with data-confirm.
  document.addEventListener("submit", function (e) {
    var btn = e.submitter;
    var msg = btn && btn.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { e.preventDefault(); }
    // One click, one request: disable the button until the page changes.
    if (!e.defaultPrevented && btn && !btn.hasAttribute("data-no-disable")) {
      setTimeout(function () { btn.disabled = true; }, 0);
    }
  });

  // The new-payout form shows only the chosen method's fields. Without
  // script both show, and the server reads those of the chosen method.
  function showMethod(form) {
    var chosen = form.querySelector('[data-method-choice] input[name="method"]:checked');
    var method = chosen ? chosen.value : "card";
    form.querySelectorAll("fieldset[data-method]").forEach(function (fs) {
      fs.hidden = fs.getAttribute("data-method") !== method;
    });
  }
  document.querySelectorAll("[data-method-choice]").forEach(function (choice) {
    var form = choice.closest("form");
    showMethod(form);
    choice.addEventListener("change", function () { showMethod(form); });
  });

  // A bank account is paid in its own currency: choosing one picks it.
  document.addEventListener("change", function (e) {
    var sel = e.target;
    if (sel.id !== "bank_account_id") { return; }
    var opt = sel.options[sel.selectedIndex];
    var cur = opt && opt.getAttribute("data-currency");
    var currency = sel.form && sel.form.querySelector('select[name="currency"]');
    if (cur && currency) { currency.value = cur; }
  });

  // A select marked data-autosubmit sends its (GET) form when it changes:
  // choosing a bank account's country shows that country's fields.
  document.addEventListener("change", function (e) {
    if (e.target.hasAttribute && e.target.hasAttribute("data-autosubmit") && e.target.form) {
      e.target.form.requestSubmit();
    }
  });

  // Show an htmx error's text instead of failing silently.
  document.addEventListener("htmx:responseError", function (e) {
    var box = document.getElementById("live-error");
    if (box) { box.textContent = e.detail.xhr.responseText || "The page could not be refreshed."; box.hidden = false; }
  });
  document.addEventListener("htmx:afterSwap", function () {
    var box = document.getElementById("live-error");
    if (box) { box.hidden = true; }
  });
})();
