// Strongroom console: the polling loop the progress scripts share
// (progress.js for the exports page, backup.js for the backups page). A page
// loads this file before its own script (both deferred, so in that order).
// Loaded as a file: the CSP allows no inline script.
"use strict";

// strongroomPoller returns a poller of url, a console JSON endpoint: each
// poll fetches it (same origin, never cached, no redirects) and passes the
// parsed answer to onData, which decides whether to poll again (p.next).
// An answer that is not JSON, a failed request (signed out, refused,
// offline) or an exception in onData stops the poller and leaves the page as
// it is; its Refresh link still works.
//
//   p.next(ms):    poll after ms, unless a poll is already due or the
//                  poller has stopped.
//   p.restart(ms): poll after ms in place of any poll already due, even
//                  after the poller stopped.
window.strongroomPoller = function (url, onData) {
  var timer = null;
  var stopped = false;

  function poll() {
    timer = null;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store", redirect: "error" })
      .then(function (res) {
        var type = res.headers.get("Content-Type") || "";
        if (!res.ok || type.indexOf("application/json") !== 0) throw new Error("progress unavailable");
        return res.json();
      })
      .then(onData)
      .catch(function () {
        stopped = true;
      });
  }

  return {
    next: function (ms) {
      if (timer !== null || stopped) return;
      timer = window.setTimeout(poll, ms);
    },
    restart: function (ms) {
      stopped = false;
      if (timer !== null) window.clearTimeout(timer);
      timer = window.setTimeout(poll, ms);
    }
  };
};
