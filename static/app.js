// Countersign's only script: small progressive enhancements. Every page works
// without it: forms post, pages show the state they were loaded with, and an
// irreversible action is still protected by the server (versions, CSRF).
(function () {
  "use strict";

  // htmx requests carry the session's CSRF token from the page's meta tag.
  document.addEventListener("htmx:configRequest", function (e) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { e.detail.headers["X-CSRF-Token"] = meta.content; }
  });

  // Every irreversible action asks first, the same way: a button with
  // data-confirm opens the layout's <dialog id="confirm">, which says what is
  // about to happen; only its yes button sends the form.
  var dialog = document.getElementById("confirm");
  var pending = null; // the form and button waiting for an answer

  document.addEventListener("submit", function (e) {
    var form = e.target;
    var btn = e.submitter;
    var question = btn && btn.getAttribute("data-confirm");
    if (question && dialog && typeof dialog.showModal === "function" && form.getAttribute("data-confirmed") !== "1") {
      e.preventDefault();
      pending = { button: btn };
      document.getElementById("confirm-title").textContent = btn.getAttribute("data-confirm-title") || "Are you sure?";
      document.getElementById("confirm-text").textContent = question;
      var yes = document.getElementById("confirm-yes");
      yes.textContent = btn.getAttribute("data-confirm-yes") || btn.textContent.trim();
      yes.className = btn.classList.contains("danger") ? "danger" : "primary";
      dialog.returnValue = "";
      dialog.showModal();
      return;
    }
    form.removeAttribute("data-confirmed");
    // One click, one request: disable the button until the page changes.
    if (btn && !btn.hasAttribute("data-no-disable")) {
      setTimeout(function () { btn.disabled = true; }, 0);
    }
  });

  if (dialog) {
    dialog.addEventListener("close", function () {
      var p = pending;
      pending = null;
      if (!p || dialog.returnValue !== "yes") { return; }
      // A refresh may have replaced the form meanwhile: the button keeps its id.
      var btn = (p.button.id && document.getElementById(p.button.id)) || p.button;
      if (!btn.form || !btn.isConnected) { return; }
      btn.form.setAttribute("data-confirmed", "1");
      btn.form.requestSubmit(btn);
    });
  }

  // While a question is open, or someone types in a field of a live part
  // (a code, a reason), that part does not refresh under them: the next
  // refresh after they leave the field brings it up to date.
  document.addEventListener("htmx:beforeRequest", function (e) {
    if (dialog && dialog.open) { e.preventDefault(); return; }
    var a = document.activeElement;
    if (a && (a.tagName === "INPUT" || a.tagName === "TEXTAREA") && e.detail.elt && e.detail.elt.contains(a)) {
      e.preventDefault();
    }
  });

  // A polite live region in the layout says what changed on a live page.
  function announce(text) {
    var region = document.getElementById("announce");
    if (!region || !text) { return; }
    region.textContent = "";
    setTimeout(function () { region.textContent = text; }, 100);
  }

  // New payouts in the queue are announced and highlighted for a few seconds;
  // a payout page says when its payout changes state. What the page showed
  // is remembered from its load on, so that refreshes that overlap on a slow
  // connection still find what is new.
  var known = null;
  var lastState = null;
  function stateLabel() {
    var s = document.querySelector("#payout-live [data-state-label]");
    return s ? s.getAttribute("data-state-label") : "";
  }
  function follow() {
    if (document.getElementById("queue")) {
      var first = known === null;
      known = known || {};
      var news = [];
      document.querySelectorAll("#queue [data-payout]").forEach(function (row) {
        var id = row.getAttribute("data-payout");
        if (known[id]) { return; }
        known[id] = true;
        if (first) { return; }
        row.classList.add("arrived");
        setTimeout(function () { row.classList.remove("arrived"); }, 6000);
        news.push(row.getAttribute("data-announce"));
      });
      if (news.length === 1) { announce("New in the queue: " + news[0]); }
      if (news.length > 1) { announce(news.length + " new payouts in the queue: " + news.join("; ")); }
    }
    var now = stateLabel();
    if (lastState !== null && now && now !== lastState) { announce(now); }
    lastState = now;
  }
  follow();
  document.addEventListener("htmx:afterSettle", follow);

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
  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("live-error");
    if (box) { box.textContent = "The console did not answer; this page may be out of date. It keeps trying."; box.hidden = false; }
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    var box = document.getElementById("live-error");
    if (box && e.detail.successful) { box.hidden = true; }
  });
})();
