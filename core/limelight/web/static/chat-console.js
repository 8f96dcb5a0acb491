// The dashboard chat console: type as a test viewer, watch every chat and the bot's replies.
// Everything a viewer could have typed is inserted with textContent, never as HTML.
"use strict";

(function () {
  const feed = document.getElementById("chat-feed");
  const errorBox = document.getElementById("console-error");
  let seq = 0;

  // csrf-fetch.js: same-origin, the session's CSRF token, JSON bodies as JSON.
  const call = window.limelightApi;

  function showError(message) {
    if (!errorBox) return;
    errorBox.textContent = message || "";
    errorBox.hidden = !message;
  }

  function span(cls, text) {
    const el = document.createElement("span");
    el.className = cls;
    el.textContent = text;
    return el;
  }

  function render(line) {
    const li = document.createElement("li");
    li.className = "line " + line.kind;
    li.dataset.seq = String(line.seq);
    if (line.id) li.dataset.id = line.id;
    li.append(span("where", line.connector + (line.channel ? " #" + line.channel : "")));
    if (line.kind === "in") {
      const who = span("who", line.viewer || "?");
      who.title = (line.roles || []).join(", ");
      li.append(who, span("text", line.text));
      if (!line.shown) {
        li.classList.add("hidden-by-gating");
        li.append(span("verdict", "hidden" + (line.reason ? ": " + line.reason : "")));
      }
    } else if (line.kind === "out") {
      li.append(span("who bot", "bot"), span("text", line.text));
      if (line.merged > 1) li.append(span("verdict", "merged " + line.merged));
    } else if (line.kind === "deleted") {
      li.append(span("verdict", "deleted " + (line.message_id ? "a message" : "messages") +
        (line.viewer ? " of " + line.viewer : "")));
      if (line.message_id) {
        for (const old of feed.querySelectorAll("li.in")) {
          if (old.dataset.id === line.message_id) old.classList.add("deleted");
        }
      }
    }
    return li;
  }

  async function poll() {
    try {
      const body = await call("/api/chat/feed?since=" + seq, { method: "GET" });
      for (const line of body.lines) feed.append(render(line));
      while (feed.children.length > 500) feed.firstElementChild.remove();
      if (body.lines.length) feed.lastElementChild.scrollIntoView({ block: "nearest" });
      seq = body.seq;
    } catch (err) {
      showError(err.message);
    }
  }

  const consoleForm = document.getElementById("console-form");
  if (consoleForm) {
    consoleForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const data = new FormData(consoleForm);
      try {
        await call(consoleForm.dataset.endpoint, {
          method: "POST",
          body: JSON.stringify({ viewer: data.get("viewer"), roles: data.getAll("roles"),
                                 text: data.get("text") }),
        });
        consoleForm.elements.text.value = "";
        showError("");
        setTimeout(poll, 150);
      } catch (err) { showError(err.message); }
    });
  }
  const sayForm = document.getElementById("say-form");
  if (sayForm) {
    sayForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        await call(sayForm.dataset.endpoint, {
          method: "POST", body: JSON.stringify({ text: new FormData(sayForm).get("text") }),
        });
        sayForm.elements.text.value = "";
        showError("");
        setTimeout(poll, 150);
      } catch (err) { showError(err.message); }
    });
  }
  if (feed) { poll(); setInterval(poll, 1000); }
})();
