// Strongroom console: WebAuthn (passkeys and security keys) and the MFA
// challenge carried in a URL fragment. Loaded as a file: the CSP allows no
// inline script. It talks to the JSON API with the session cookie.
"use strict";

(function () {
  function b64urlToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function creationOptions(o) {
    var pk = Object.assign({}, o.publicKey || o);
    pk.challenge = b64urlToBuf(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: b64urlToBuf(pk.user.id) });
    pk.excludeCredentials = (pk.excludeCredentials || []).map(function (c) { return Object.assign({}, c, { id: b64urlToBuf(c.id) }); });
    return { publicKey: pk };
  }
  function requestOptions(o) {
    var pk = Object.assign({}, o.publicKey || o);
    pk.challenge = b64urlToBuf(pk.challenge);
    pk.allowCredentials = (pk.allowCredentials || []).map(function (c) { return Object.assign({}, c, { id: b64urlToBuf(c.id) }); });
    return { publicKey: pk };
  }
  function credentialJSON(c) {
    var r = c.response, out = { id: c.id, rawId: bufToB64url(c.rawId), type: c.type, response: { clientDataJSON: bufToB64url(r.clientDataJSON) } };
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64url(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = bufToB64url(r.authenticatorData);
      out.response.signature = bufToB64url(r.signature);
      if (r.userHandle) out.response.userHandle = bufToB64url(r.userHandle);
    }
    out.clientExtensionResults = c.getClientExtensionResults ? c.getClientExtensionResults() : {};
    return out;
  }
  async function api(path, body) {
    var res = await fetch(path, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" }, body: JSON.stringify(body || {}) });
    var data = null;
    if (res.status !== 204) { try { data = await res.json(); } catch (e) { data = null; } }
    if (!res.ok) {
      var msg = (data && (data.errors && data.errors.length ? data.errors[0].message : data.detail)) || "The request failed.";
      var err = new Error(msg); err.status = res.status; err.problem = data; throw err;
    }
    return data;
  }
  function showError(err) {
    var el = document.getElementById("passkey-error");
    if (!el) return;
    el.textContent = err && err.name === "NotAllowedError" ? "The passkey prompt was closed or timed out. Try again." : (err && err.message) || String(err);
    el.hidden = false;
  }
  function fragmentValue(name) {
    var h = new URLSearchParams(location.hash.slice(1));
    return h.get(name) || "";
  }
  var supported = !!(window.PublicKeyCredential && navigator.credentials);

  // The OpenID Connect callback puts the MFA challenge in the fragment (never
  // sent to a server): copy it into the forms, then drop it from the address bar.
  var challenge = fragmentValue("challenge");
  if (challenge) {
    document.querySelectorAll('input[data-fragment="challenge"]').forEach(function (i) { if (!i.value) i.value = challenge; });
    history.replaceState(null, "", location.pathname + location.search);
  }

  var signin = document.getElementById("passkey-signin");
  if (signin && supported) {
    signin.hidden = false;
    signin.addEventListener("click", async function () {
      try {
        var c = await api("/api/v1/auth/passkey/start");
        var cred = await navigator.credentials.get(requestOptions(c.options));
        await api("/api/v1/auth/passkey/finish", { ceremony: c.ceremony, response: credentialJSON(cred), cookie: true });
        location.assign(signin.dataset.next || "/");
      } catch (err) { showError(err); }
    });
  }

  var mfa = document.getElementById("passkey-mfa");
  if (mfa && supported) {
    mfa.hidden = false;
    mfa.addEventListener("click", async function () {
      try {
        var ch = document.querySelector('#passkey-mfa-form input[name="challenge"]').value;
        var c = await api("/api/v1/auth/mfa/webauthn", { challenge: ch });
        var cred = await navigator.credentials.get(requestOptions(c.options));
        await api("/api/v1/auth/mfa", { challenge: ch, ceremony: c.ceremony, webauthn: credentialJSON(cred) });
        location.assign(mfa.dataset.next || "/");
      } catch (err) { showError(err); }
    });
  }

  var reg = document.getElementById("passkey-register");
  if (reg) {
    var button = document.getElementById("passkey-register-button");
    var support = document.getElementById("passkey-support");
    if (supported) { button.disabled = false; if (support) support.hidden = true; }
    reg.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      try {
        var c = await api("/api/v1/me/mfa/webauthn/start");
        var cred = await navigator.credentials.create(creationOptions(c.options));
        var name = reg.querySelector('input[name="passkey_name"]').value || "Passkey";
        var done = await api("/api/v1/me/mfa/webauthn/finish", { ceremony: c.ceremony, name: name, response: credentialJSON(cred) });
        var codes = done && done.recovery_codes;
        var box = document.getElementById("passkey-codes");
        if (codes && codes.length && box) {
          // The first factor comes with recovery codes, shown this once.
          var list = document.getElementById("passkey-codes-list");
          codes.forEach(function (code) {
            var li = document.createElement("li"), el = document.createElement("code");
            el.textContent = code;
            li.appendChild(el);
            list.appendChild(li);
          });
          reg.hidden = true;
          box.hidden = false;
          box.querySelector("a").focus();
          return;
        }
        location.assign("/account/mfa");
      } catch (err) {
        if (err.problem && err.problem.type && /reauthentication_required$/.test(err.problem.type)) {
          location.assign("/account/step-up?next=" + encodeURIComponent("/account/mfa"));
          return;
        }
        showError(err);
      }
    });
  }
})();
