// The editor's little script: live send progress (polling JSON, no reload) and copying the sign-up snippet.
// Everything works without it: the progress page shows the figures of its load, the snippet can be selected.
(function () {
  "use strict";

  function formatEta(seconds) {
    if (seconds === null || seconds === undefined) { return "—"; }
    return Math.round(seconds) + " s";
  }

  function pollProgress(section) {
    var url = section.getAttribute("data-progress-url");
    var bar = section.querySelector("progress");
    function show(state) {
      var fields = { status: state.status, sent: state.sent, failed: state.failed, recipients: state.recipients,
                     rate_per_second: state.rate_per_second,
                     eta: state.status === "sending" ? formatEta(state.eta_seconds) : "—",
                     percent: state.percent.toFixed(1) + " %", reason: state.reason || "" };
      Object.keys(fields).forEach(function (name) {
        section.querySelectorAll('[data-field="' + name + '"]').forEach(function (el) {
          el.textContent = fields[name];
        });
      });
      if (bar) { bar.value = state.percent; bar.textContent = state.percent.toFixed(1) + " %"; }
      section.setAttribute("data-status", state.status);  // set only here: tests tell a live update by it
      if (!state.active) {  // sent or cancelled: nothing left to pause, resume or cancel
        document.querySelectorAll(".send-actions").forEach(function (el) { el.hidden = true; });
      }
    }
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
        .then(function (state) {
          show(state);
          if (state.status === "sending") { setTimeout(tick, 1000); }
        })
        .catch(function () { setTimeout(tick, 5000); });
    }
    tick();
  }

  function copyButtons() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var id = button.getAttribute("data-copy");
        var source = document.getElementById(id);
        var status = document.querySelector('[data-copied="' + id + '"]');
        source.select();
        var done = function () { if (status) { status.textContent = "Copied."; } };
        if (navigator.clipboard) {
          navigator.clipboard.writeText(source.value).then(done, function () { document.execCommand("copy"); done(); });
        } else { document.execCommand("copy"); done(); }
      });
    });
  }

  // Feeds: "Check" shows what the watcher would see in place, without leaving the form (the same POST the
  // button makes without script; the answer's check result, or its error, is moved into the page).
  function liveCheck(form) {
    var button = form.querySelector("button[formaction]");
    var slot = document.getElementById("check-slot");
    if (!button || !slot) { return; }
    button.addEventListener("click", function (event) {
      if (!form.reportValidity()) { return; }
      event.preventDefault();
      slot.textContent = "Checking…";
      var token = document.querySelector('meta[name="csrf-token"]').content;
      fetch(form.getAttribute("data-live-check"), { method: "POST", body: new URLSearchParams(new FormData(form)),
                                                    headers: { "X-CSRF-Token": token, Accept: "text/html" },
                                                    credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          var answer = new DOMParser().parseFromString(html, "text/html");
          var found = answer.getElementById("check-result") || answer.querySelector("main .error");
          slot.replaceChildren(found ? document.importNode(found, true) : document.createTextNode("The check failed."));
        })
        .catch(function () { slot.textContent = "The check could not reach the server; try again."; });
    });
  }

  document.querySelectorAll("form[data-live-check]").forEach(liveCheck);
  document.querySelectorAll("[data-progress-url]").forEach(pollProgress);
  copyButtons();
})();
