// Overlay queue control in the dashboard: buttons call the admin API with the session
// cookie; status figures refresh every few seconds. Text from the server goes in with
// textContent only.
"use strict";

(function () {
  const feedback = document.getElementById("overlay-feedback");

  function say(text, bad) {
    if (!feedback) return;
    feedback.textContent = text;
    feedback.className = "feedback " + (bad ? "error" : "ok");
  }

  // csrf-fetch.js sends the session's CSRF token with every call.
  function call(path, body) {
    return window.limelightApi(path, { method: "POST", body: JSON.stringify(body || {}) });
  }

  function waiting(count) {
    const n = Number(count) || 0;
    return n + " waiting alert" + (n === 1 ? "" : "s");
  }

  function overlayOf(element) {
    const holder = element.closest("[data-overlay]");
    return holder ? holder.dataset.overlay : null;
  }

  async function act(button) {
    const name = overlayOf(button);
    if (!name) return;
    const base = "/api/overlays/" + encodeURIComponent(name);
    const action = button.dataset.action;
    button.disabled = true;
    try {
      let result;
      if (action === "test") {
        const scope = button.closest("tr, section, p") || document;
        const select = scope.querySelector("select[data-field=kind]");
        await call(base + "/test", select ? { kind: select.value } : {});
        const label = select ? select.options[select.selectedIndex].textContent : "Test";
        say(label + " test alert sent to " + name + ".");
      } else if (action === "replay") {
        const id = button.closest("[data-alert]").dataset.alert;
        await call(base + "/replay/" + encodeURIComponent(id));
        say("The alert plays again on " + name + ".");
      } else if (action === "skip-one") {
        const id = Number(button.closest("[data-alert]").dataset.alert);
        await call(base + "/skip", { id: id });
        say("That alert will not play.");
      } else {
        result = await call(base + "/" + action);
        const done = { pause: "paused", resume: "resumed", skip: "skipped the alert on screen",
                       clear: "cleared " + waiting(result && result.cleared) };
        say(name + ": " + (done[action] || action) + ".");
      }
      refresh();
    } catch (err) {
      say(name + ": " + err.message, true);
    } finally {
      button.disabled = false;
    }
  }

  async function refresh() {
    const rows = document.querySelectorAll("[data-overlay] .overlay-status");
    if (!rows.length) return;
    try {
      const response = await window.limelightFetch("/api/overlays");
      if (!response.ok) return;
      const body = await response.json();
      const byName = {};
      for (const o of body.overlays) byName[o.name] = o;
      for (const cell of rows) {
        const o = byName[overlayOf(cell)];
        if (!o) continue;
        cell.querySelector("[data-field=clients]").textContent = String(o.clients);
        cell.querySelector("[data-field=pending]").textContent = String(o.pending);
        const paused = cell.querySelector("[data-field=paused]");
        paused.textContent = o.paused ? "paused" : "playing";
        paused.className = o.paused ? "bad" : "ok";
      }
    } catch (err) {
      // The next refresh tries again; the dashboard stays usable without live figures.
    }
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-action]");
    if (button && overlayOf(button)) act(button);
  });
  refresh();
  setInterval(refresh, 3000);
})();
