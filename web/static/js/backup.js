// Strongroom console: live progress of the running backup on the operator's
// backups page. The page works without this file (its Refresh link reloads
// it); with it, the backup-run card follows a running backup by polling the
// console's JSON endpoint (the card's data-poll) once a second through
// poll.js (loaded first), as the export page does, and reloads the page once
// the backup has ended, so that the new backup shows in the list. Loaded as a
// file: the CSP allows no inline script. Text is set with textContent only.
"use strict";

(function () {
  var card = document.getElementById("backup-run");
  if (!card || !card.dataset.poll || !window.strongroomPoller) return;
  var live = document.getElementById("backup-live");
  var interval = 1000;
  var poller = window.strongroomPoller(card.dataset.poll, function (data) {
    if (!data || !data.run) return;
    if (update(data.run) && running()) poller.next(interval);
  });

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

  if (running()) poller.next(interval);
})();
