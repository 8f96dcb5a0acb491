// The one way dashboard scripts (the core's and plugins') call the server: same-origin
// credentials, the session's CSRF token in the X-CSRF-Token header (from
// <meta name="csrf-token">, which admin/base.html renders), and JSON bodies sent as
// application/json. The server refuses a state-changing request made with the session
// cookie that lacks the token or comes from another origin (docs/operations.md).
"use strict";

(function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const token = meta ? meta.content : "";

  // fetch() with the CSRF token; a string body is sent as JSON unless a type is given.
  function limelightFetch(path, options = {}) {
    const headers = new Headers(options.headers || {});
    if (token) headers.set("X-CSRF-Token", token);
    if (typeof options.body === "string" && !headers.has("Content-Type")) {
      headers.set("Content-Type", "application/json");
    }
    return fetch(path, { ...options, credentials: "same-origin", headers });
  }

  // limelightFetch, then the JSON answer; an error answer throws its "error" message.
  async function limelightApi(path, options = {}) {
    const response = await limelightFetch(path, options);
    const text = await response.text();
    let body = {};
    try { body = text ? JSON.parse(text) : {}; } catch (e) { body = { error: text }; }
    if (!response.ok) throw new Error(body.error || text || response.statusText);
    return body;
  }

  window.limelightFetch = limelightFetch;
  window.limelightApi = limelightApi;
})();
