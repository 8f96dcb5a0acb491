// The Moderators page: create an invite link (shown once, with a copy button) and revoke
// invites or moderators, through the admin API (csrf-fetch.js). Names go in as text only.
"use strict";

(function () {
  const form = document.getElementById("invite-form");
  const feedback = document.getElementById("moderators-feedback");
  const result = document.getElementById("invite-result");
  const url = document.getElementById("invite-url");

  function say(text, bad) {
    feedback.textContent = text;
    feedback.className = "feedback " + (bad ? "error" : "ok");
  }

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function when(iso) {
    return iso ? iso.slice(0, 16).replace("T", " ") : "";
  }

  function addInvite(invite) {
    const body = document.getElementById("invite-rows");
    const empty = body.querySelector(".empty-row");
    if (empty) empty.remove();
    const row = document.createElement("tr");
    row.dataset.invite = String(invite.id);
    row.append(cell(invite.name), cell(when(invite.created_at)), cell(when(invite.expires_at)));
    const td = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "danger";
    button.dataset.revoke = "invite";
    button.textContent = "Revoke";
    td.append(button);
    row.append(td);
    body.prepend(row);
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const data = new FormData(form);
    try {
      const body = await window.limelightApi("/api/moderators/invites", {
        method: "POST",
        body: JSON.stringify({ name: String(data.get("name")), hours: Number(data.get("hours")) }),
      });
      url.value = body.url;
      document.getElementById("invite-result-name").textContent = body.invite.name;
      result.hidden = false;
      addInvite(body.invite);
      form.reset();
      say("Invite created.");
    } catch (err) {
      say(err.message, true);
    }
  });

  document.getElementById("invite-copy").addEventListener("click", async function () {
    url.select();
    try {
      await navigator.clipboard.writeText(url.value);
      say("Link copied.");
    } catch (err) {
      say("Select the link and copy it (Ctrl+C).", true);
    }
  });

  document.addEventListener("click", async function (event) {
    const button = event.target.closest("button[data-revoke]");
    if (!button) return;
    const row = button.closest("tr");
    const kind = button.dataset.revoke;
    const id = kind === "invite" ? row.dataset.invite : row.dataset.moderator;
    const path = kind === "invite"
      ? "/api/moderators/invites/" + encodeURIComponent(id) + "/revoke"
      : "/api/moderators/" + encodeURIComponent(id) + "/revoke";
    button.disabled = true;
    try {
      await window.limelightApi(path, { method: "POST", body: "{}" });
      row.remove();
      say(kind === "invite" ? "Invite revoked." : "Moderator revoked; their sessions ended.");
    } catch (err) {
      say(err.message, true);
      button.disabled = false;
    }
  });
})();
