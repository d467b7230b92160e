// Strongroom console: live progress of the running backup on the operator's
// backups page. The page works without this file (its Refresh link reloads
// it); with it, the backup-run card follows a running backup by polling the
// console's JSON endpoint (the card's data-poll) once a second, as the export
// page does, and reloads the page once the backup has ended, so that the new
// backup shows in the list. Loaded as a file: the CSP allows no inline
// script. Text is set with textContent only.
"use strict";

(function () {
  var card = document.getElementById("backup-run");
  if (!card || !card.dataset.poll) return;
  var url = card.dataset.poll;
  var live = document.getElementById("backup-live");
  var interval = 1000;
  var timer = null;

  function running() {
    return card.dataset.status === "running" && card.dataset.stalled !== "true";
  }

  function set(field, text) {
    var el = card.querySelector("[data-field='" + field + "']");
    if (el && el.textContent !== text) el.textContent = text;
  }

  function update(run) {
    var was = card.dataset.status;
    card.dataset.status = run.status;
    if (run.stalled) card.dataset.stalled = "true"; else delete card.dataset.stalled;
    var bar = card.querySelector("progress");
    if (bar) {
      bar.max = run.max;
      bar.value = run.progress;
      bar.textContent = run.rows + " rows";
    }
    set("label", run.label);
    set("detail", run.detail);
    set("started", run.started);
    set("by", run.by);
    set("finished", run.finished);
    set("name", run.name);
    set("error", run.error);
    var badge = card.querySelector("[data-field='label']");
    if (badge) {
      badge.className = "badge" + (run.status === "succeeded" ? " ok" : (run.status === "failed" || run.stalled) ? " warn" : "");
    }
    if (was === "running" && run.status !== "running") {
      if (live) live.textContent = "The backup started " + run.started + " has ended: " + run.label + ".";
      // The backups list below gains the new backup: show it.
      window.setTimeout(function () { window.location.reload(); }, 1500);
      return false;
    }
    return true;
  }

  function poll() {
    timer = null;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store", redirect: "error" })
      .then(function (res) {
        var type = res.headers.get("Content-Type") || "";
        if (!res.ok || type.indexOf("application/json") !== 0) throw new Error("progress unavailable");
        return res.json();
      })
      .then(function (data) {
        if (!data || !data.run) return;
        if (update(data.run) && running()) timer = window.setTimeout(poll, interval);
      })
      .catch(function () {
        // Signed out, refused or offline: leave the page as it is; the
        // Refresh link still works.
      });
  }

  if (running()) timer = window.setTimeout(poll, interval);
})();
