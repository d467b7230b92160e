// Strongroom console: live progress of the organization's exports. The page
// lists the recent exports with a <progress> bar each and works without this
// file (its Refresh link reloads it); with it, the list follows a running
// export by polling the console's JSON endpoint (the table's data-poll) once
// a second through poll.js (loaded first), and stops when nothing runs.
// Loaded as a file: the CSP allows no inline script. Text is set with
// textContent only.
"use strict";

(function () {
  var table = document.getElementById("exports");
  if (!table || !table.dataset.poll || !window.strongroomPoller) return;
  var body = table.tBodies[0];
  var tmpl = document.getElementById("export-row");
  var empty = document.getElementById("no-exports");
  var live = document.getElementById("exports-live");
  var form = document.querySelector("form[action$='/export']");
  var interval = 1000;
  // After the export form is sent, poll for a while even before the new
  // export shows up (the download's request creates it).
  var watchUntil = 0;
  var poller = window.strongroomPoller(table.dataset.poll, function (data) {
    var jobs = (data && data.jobs) || [];
    // Oldest first, so that new rows end up newest first.
    for (var i = jobs.length - 1; i >= 0; i--) update(jobs[i]);
    schedule();
  });

  function running() {
    var rows = body.querySelectorAll("tr[data-export]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].dataset.status === "running" && rows[i].dataset.stalled !== "true") return true;
    }
    return false;
  }

  function set(row, field, text) {
    var el = row.querySelector("[data-field='" + field + "']");
    if (el && el.textContent !== text) el.textContent = text;
  }

  function rowFor(job) {
    var rows = body.querySelectorAll("tr[data-export]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].dataset.export === job.id) return rows[i];
    }
    if (!tmpl) return null;
    var row = tmpl.content.firstElementChild.cloneNode(true);
    row.dataset.export = job.id;
    body.insertBefore(row, body.firstChild);
    table.hidden = false;
    if (empty) empty.hidden = true;
    return row;
  }

  function update(job) {
    var row = rowFor(job);
    if (!row) return;
    var was = row.dataset.status;
    row.dataset.status = job.status;
    if (job.stalled) row.dataset.stalled = "true"; else delete row.dataset.stalled;
    var bar = row.querySelector("progress");
    if (bar) {
      bar.max = job.max;
      bar.value = job.progress;
      bar.setAttribute("aria-label", "Export started " + job.started);
      bar.textContent = job.records + " of " + job.records_total;
    }
    set(row, "started", job.started);
    set(row, "records", job.records + " of " + job.records_total + " records");
    set(row, "label", job.label);
    set(row, "size", job.size);
    set(row, "finished", job.finished);
    var badge = row.querySelector("[data-field='label']");
    if (badge) {
      badge.className = "badge" + (job.status === "completed" ? " ok" : (job.status === "failed" || job.stalled) ? " warn" : "");
    }
    if (was === "running" && job.status !== "running" && live) {
      live.textContent = "The export started " + job.started + ": " + job.label + ".";
    }
  }

  function schedule() {
    if (!running() && Date.now() > watchUntil) return;
    poller.next(interval);
  }

  if (form) {
    form.addEventListener("submit", function () {
      // The page stays while the download runs: do not leave the
      // passphrase in it (the form's data is already taken).
      var secret = form.querySelector("input[type=password]");
      if (secret) window.setTimeout(function () { secret.value = ""; }, 0);
      watchUntil = Date.now() + 30000;
      // The download's request is under way; look for its export shortly.
      poller.restart(300);
    });
  }
  schedule();
})();
