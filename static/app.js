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
