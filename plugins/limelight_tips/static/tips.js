// The tips dashboard. Every value that came from a viewer or a provider is inserted with
// textContent (never innerHTML); the page runs under a CSP without inline scripts.
"use strict";

(function () {
  // The core's csrf-fetch.js (on every dashboard page) sends the session's CSRF token.
  const api = window.limelightApi;

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  const form = document.getElementById("tips-filters");
  const rows = document.getElementById("tips-rows");
  const totals = document.getElementById("tips-totals");
  const errorBox = document.getElementById("tips-error");
  const exportLink = document.getElementById("tips-export");
  const queue = document.getElementById("tips-queue");

  function showError(err) {
    errorBox.hidden = false;
    errorBox.textContent = err.message || String(err);
  }

  function query() {
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form).entries()) {
      if (String(value).trim()) params.set(key, String(value).trim());
    }
    return params;
  }

  async function refund(entry) {
    // The core's in-page dialog (dialog.js, on every dashboard page), not window.prompt().
    const answer = await window.limelightDialog({
      title: "Refund this tip?",
      message: `${entry.viewer.name || "Someone"} tipped ${entry.display}` +
        (entry.refunded ? ` (${entry.refunded} refunded already).` : "."),
      fields: [
        { name: "amount", label: "Amount to refund", inputmode: "decimal", maxlength: 20,
          placeholder: "all that is left", hint: "Leave empty to refund all that is left." },
        { name: "reason", label: "Reason (for your records)", maxlength: 200,
          value: "marked as refunded in the dashboard" },
      ],
      confirm: "Refund",
      danger: true,
      check: (values) => (/^(\d+([.,]\d{1,3})?)?$/.test(values.amount.trim())
        ? "" : "Write an amount such as 5.00, or leave it empty."),
    });
    if (answer === null) return;
    try {
      await api(`/api/tips/entries/${entry.id}/refund`, { method: "POST",
        body: JSON.stringify({ amount: answer.amount.trim().replace(",", "."),
          reason: answer.reason.trim() || "marked as refunded in the dashboard" }) });
      await load();
    } catch (err) { showError(err); }
  }

  function row(entry) {
    const tr = el("tr", null, entry.kind === "refund" ? "refund" : "");
    tr.append(el("td", new Date(entry.occurred_at).toLocaleString()));
    const who = el("td", entry.viewer.name || "—");
    if (entry.anonymous) who.append(el("span", "anonymous", "note"));
    who.append(el("span", `${entry.viewer.platform}`, "note"));
    tr.append(who);
    const amount = el("td", entry.display, "amount");
    if (entry.refunded) amount.append(el("span", `refunded ${entry.refunded}`, "note"));
    tr.append(amount);
    const provider = el("td", entry.provider);
    provider.append(el("span", entry.detail || entry.kind, "note"));
    tr.append(provider);
    const message = el("td", entry.message);
    if (entry.reason) message.append(el("span", entry.reason, "note"));
    tr.append(message);
    const actions = el("td");
    if (entry.refundable) {
      const button = el("button", "Refund…", "secondary");
      button.type = "button";
      button.addEventListener("click", () => refund(entry));
      actions.append(button);
    }
    tr.append(actions);
    return tr;
  }

  async function load() {
    errorBox.hidden = true;
    const params = query();
    exportLink.href = "/api/tips/export.csv?" + params.toString();
    try {
      const body = await api("/api/tips/entries?" + params.toString());
      rows.replaceChildren();
      if (!body.entries.length) {
        const tr = el("tr");
        const td = el("td", "No tips match.", "empty");
        td.colSpan = 6;
        tr.append(td);
        rows.append(tr);
      }
      for (const entry of body.entries) rows.append(row(entry));
      totals.className = "";
      totals.textContent = body.totals.length
        ? body.totals.map((t) => `${t.display} (${t.entries}` +
            (t.refunds ? `, ${t.refunds} refund${t.refunds === 1 ? "" : "s"}` : "") + ")").join(" · ")
        : "nothing yet";
    } catch (err) { showError(err); }
  }

  async function loadQueue() {
    try {
      const body = await api("/api/tips/queue");
      queue.replaceChildren();
      if (!body.pending.length) queue.append(el("li", "Nothing waiting.", "empty"));
      for (const item of body.pending) {
        const li = el("li");
        li.append(el("strong", `${item.name} · ${item.amount}${item.test ? " (test)" : ""}`));
        li.append(el("span", item.message, "message"));
        for (const [action, label, cls] of [["approve", "Show", ""], ["reject", "Hide message", "danger"]]) {
          const button = el("button", label, cls);
          button.type = "button";
          button.addEventListener("click", async () => {
            try { await api(`/api/tips/queue/${item.id}/${action}`, { method: "POST" }); }
            catch (err) { showError(err); }
            loadQueue();
          });
          li.append(button);
        }
        queue.append(li);
      }
    } catch (err) { showError(err); }
  }

  async function tts(killed) {
    try {
      const state = await api("/api/tips/tts", killed === undefined ? {} :
        { method: "POST", body: JSON.stringify({ killed }) });
      document.getElementById("tips-tts-state").textContent =
        !state.configured ? "off in the config" : state.killed ? "stopped (kill switch)" : "on";
    } catch (err) { showError(err); }
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  document.getElementById("tips-tts-kill").addEventListener("click", () => tts(true));
  document.getElementById("tips-tts-resume").addEventListener("click", () => tts(false));
  document.getElementById("tips-stream-start").addEventListener("click", async () => {
    try { await api("/api/tips/stream/start", { method: "POST" }); } catch (err) { showError(err); }
  });
  load();
  loadQueue();
  tts();
  setInterval(loadQueue, 3000);
})();
