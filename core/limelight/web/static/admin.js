// Dashboard helpers: every value a viewer could have typed is inserted with textContent.
"use strict";

// csrf-fetch.js (loaded by every dashboard page) sends the session's CSRF token.
const api = window.limelightApi;

function describe(event) {
  const d = event.data || {};
  if (d.amount !== undefined) return `${d.amount} ${d.currency || ""} ${d.message || ""}`;
  if (d.bits !== undefined) return `${d.bits} bits ${d.message || ""}`;
  if (d.text !== undefined) return d.text;
  return JSON.stringify(d);
}

async function refreshEvents(list) {
  try {
    const { events } = await api(list.dataset.endpoint);
    list.replaceChildren();
    if (!events.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = "No events yet.";
      list.append(li);
    }
    for (const event of events) {
      const li = document.createElement("li");
      const type = document.createElement("span");
      type.className = "type";
      type.textContent = event.type + (event.test ? " (test)" : "");
      const who = document.createElement("strong");
      who.textContent = event.viewer ? event.viewer.name + " " : "";
      const what = document.createElement("span");
      what.textContent = describe(event);
      li.append(type, who, what);
      if (event.problem) {
        const problem = document.createElement("span");
        problem.className = "problem";
        problem.textContent = event.problem;
        li.append(problem);
      }
      list.append(li);
    }
  } catch (err) {
    list.replaceChildren(Object.assign(document.createElement("li"), { className: "error", textContent: err.message }));
  }
}

for (const input of document.querySelectorAll("input.copy")) {
  input.addEventListener("focus", () => input.select());
}
const events = document.getElementById("events");
if (events) { refreshEvents(events); setInterval(() => refreshEvents(events), 3000); }
