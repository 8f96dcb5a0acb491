// Quarantine actions in the dashboard: Try again and Dismiss call the admin API with the
// session cookie (through csrf-fetch.js). Text from the server goes in with textContent only.
"use strict";

(function () {
  const feedback = document.getElementById("quarantine-feedback");

  function say(text, bad) {
    if (!feedback) return;
    feedback.textContent = text;
    feedback.className = "feedback " + (bad ? "error" : "ok");
  }

  async function act(button) {
    const row = button.closest("[data-entry]");
    if (!row) return;
    const path = "/api/quarantine/" + encodeURIComponent(row.dataset.entry) + "/" + button.dataset.action;
    button.disabled = true;
    try {
      // csrf-fetch.js: same-origin, the session's CSRF token, the error answer thrown.
      await window.limelightApi(path, { method: "POST", body: "{}" });
      say(button.dataset.action === "retry" ? "Recorded." : "Dismissed.");
      row.remove();
    } catch (err) {
      say(err.message, true);
      button.disabled = false;
    }
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-action]");
    if (button && button.closest("#quarantine-list")) act(button);
  });
})();
