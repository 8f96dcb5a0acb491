// The charity dashboard. Every value from a donor or a provider goes in with textContent
// (never innerHTML); the page runs under a CSP without inline scripts, and every call goes
// through the core's CSRF-guarded limelightApi.
"use strict";

(function () {
  const api = window.limelightApi;
  const list = document.getElementById("charity-campaigns");
  const pick = document.getElementById("charity-pick");
  const rows = document.getElementById("charity-entries");
  const errorBox = document.getElementById("charity-error");
  const manual = document.getElementById("charity-manual");
  const edit = document.getElementById("charity-edit");
  let campaigns = [];
  // Milestones a row each, "at" typed in the campaign's money (250.00), sent in its minor
  // units (25000) as the API counts them (milestone-editor.js).
  const M = window.LimelightMilestones;
  const units = M.units(() => {
    const currency = edit.elements.currency.value.trim().toUpperCase() || "EUR";
    return { kind: "money", unit: currency, exponent: M.exponentOf(currency) };
  });
  const milestones = M.editor(document.getElementById("charity-milestones"), units);

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  // An error shows where it was made: under the campaign form for the form's, at the top
  // of the page for the rest.
  const editError = document.getElementById("charity-edit-error");
  function showError(err, box) {
    box = box || errorBox;
    box.hidden = false;
    box.textContent = err.message || String(err);
  }

  function link(href, text) {
    const a = el("a", text);
    a.href = href;
    return a;
  }

  function localInput(iso) {
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function fillForm(c) {
    for (const key of ["id", "title", "cause", "cause_url", "goal", "currency", "tiltify_campaign_id"]) {
      edit.elements[key].value = c[key] || "";
    }
    edit.elements.starts_at.value = localInput(c.starts_at);
    edit.elements.ends_at.value = localInput(c.ends_at);
    rateRows.replaceChildren();
    for (const [code, rate] of Object.entries(c.rates || {})) rateRow(code, rate);
    milestones.load(c.milestones);
    edit.scrollIntoView();
  }

  // Exchange rates a row each: "1 USD = 0.92 EUR" (the campaign's currency), sent as
  // {"USD": "0.92"}.
  const rateRows = document.getElementById("charity-rates");
  function rateRow(code, rate) {
    const li = el("li", "1 ", "field-row");
    const from = el("input");
    from.name = "rate-currency";
    from.size = 4;
    from.value = code || "";
    from.placeholder = "USD";
    from.setAttribute("aria-label", "Currency");
    const value = el("input");
    value.name = "rate-value";
    value.size = 8;
    value.inputMode = "decimal";
    value.value = rate || "";
    value.placeholder = "0.92";
    value.setAttribute("aria-label", "Rate");
    const remove = el("button", "Remove", "secondary");
    remove.type = "button";
    remove.addEventListener("click", () => li.remove());
    li.append(from, " = ", value, " ", el("span", edit.elements.currency.value.trim().toUpperCase(), "rate-to"), remove);
    rateRows.append(li);
    return li;
  }
  function readRates() {
    const rates = {};
    for (const li of rateRows.children) {
      const code = li.querySelector("input[name=rate-currency]").value.trim().toUpperCase();
      const rate = li.querySelector("input[name=rate-value]").value.trim().replace(",", ".");
      if (!code && !rate) continue;
      if (!/^[A-Z]{3}$/.test(code) || !(Number(rate) > 0)) {
        throw new Error("Exchange rates: a currency code (USD) and a rate above 0 (0.92) on each row");
      }
      rates[code] = rate;
    }
    return rates;
  }

  function card(c) {
    const li = el("li");
    const head = el("strong", c.title);
    li.append(head, el("span", `${c.id} · ${c.cause}${c.running ? " · running" : ""}`, "meta"));
    const bar = el("progress");
    bar.max = 100;
    bar.value = Math.min(100, (Number(c.total) / Number(c.goal)) * 100 || 0);
    li.append(bar);
    let line = `${c.total_display} of ${c.goal_display}`;
    if (c.converted) line += " (includes converted amounts)";
    if (c.missing_rates) line += " — some donations have no rate and are not in the total";
    li.append(el("p", line));
    if (c.per_currency.length > 1) {
      li.append(el("p", "Given: " + c.per_currency.map((t) => `${t.display} (${t.entries})`).join(", "), "meta"));
    }
    const links = el("p");
    links.append(link(`/p/charity/${encodeURIComponent(c.id)}/report`, "Final report"), " · ",
      link(`/api/charity/campaigns/${encodeURIComponent(c.id)}/export.csv`, "CSV for the nonprofit"));
    if (c.origin !== "config") {
      const change = el("button", "Change");
      change.type = "button";
      change.addEventListener("click", () => fillForm(c));
      links.append(" · ", change);
    } else {
      links.append(el("span", "set in the config file", "meta"));
    }
    li.append(links);
    return li;
  }

  async function loadCampaigns() {
    const data = await api("/api/charity/campaigns");
    campaigns = data.campaigns;
    list.replaceChildren(...(campaigns.length ? campaigns.map(card) : [el("li", "No campaign yet: add one below or in the config file.", "empty")]));
    const chosen = pick.value;
    pick.replaceChildren(...campaigns.map((c) => {
      const o = el("option", c.title);
      o.value = c.id;
      return o;
    }));
    if (chosen && campaigns.some((c) => c.id === chosen)) pick.value = chosen;
    await loadEntries();
  }

  async function refund(entry) {
    const answer = await window.limelightDialog({
      title: "Refund this donation?",
      message: `${entry.display} from ${entry.name || "a donor"}.`,
      fields: [{ name: "amount", label: "Amount to refund", inputmode: "decimal", maxlength: 20,
        placeholder: "all that is left", hint: "Leave empty to refund all that is left." }],
      confirm: "Refund",
      danger: true,
      check: (values) => (/^(\d+([.,]\d{1,3})?)?$/.test(values.amount.trim())
        ? "" : "Write an amount such as 5.00, or leave it empty."),
    });
    if (answer === null) return;
    const amount = answer.amount.replace(",", ".");
    try {
      await api(`/api/charity/entries/${entry.id}/refund`, { method: "POST",
        body: JSON.stringify({ amount: amount.trim(), reason: "refunded in the dashboard" }) });
      await loadCampaigns();
    } catch (err) { showError(err); }
  }

  async function loadEntries() {
    if (!pick.value) {
      rows.replaceChildren();
      return;
    }
    const data = await api(`/api/charity/campaigns/${encodeURIComponent(pick.value)}/entries`);
    rows.replaceChildren(...data.entries.map((e) => {
      const tr = el("tr", null, e.kind === "refund" ? "refund" : "");
      tr.append(el("td", new Date(e.occurred_at).toLocaleString()));
      const who = el("td", e.name || "—");
      if (e.anonymous) who.append(el("span", "anonymous", "note"));
      tr.append(who, el("td", e.display));
      const counted = el("td", e.counted);
      if (e.converted) counted.append(el("span", "converted", "note"));
      if (e.unconverted) counted.append(el("span", "no rate", "note"));
      tr.append(counted, el("td", e.channel), el("td", e.message || e.reason));
      const cell = el("td");
      if (e.refundable) {
        const button = el("button", "Refund");
        button.type = "button";
        button.addEventListener("click", () => refund(e));
        cell.append(button);
      }
      tr.append(cell);
      return tr;
    }));
  }

  manual.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = manual.elements;
    try {
      await api(`/api/charity/campaigns/${encodeURIComponent(pick.value)}/donations`, { method: "POST",
        body: JSON.stringify({ name: f.name.value.trim(), amount: f.amount.value.trim(),
          currency: f.currency.value.trim(), message: f.message.value, anonymous: f.anonymous.checked,
          key: crypto.getRandomValues(new Uint32Array(4)).join("-") }) });
      manual.reset();
      await loadCampaigns();
    } catch (err) { showError(err); }
  });

  edit.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = edit.elements;
    try {
      const body = {};
      for (const key of ["id", "title", "cause", "cause_url", "goal", "currency", "tiltify_campaign_id"]) {
        body[key] = f[key].value.trim();
      }
      body.starts_at = new Date(f.starts_at.value).toISOString();
      body.ends_at = new Date(f.ends_at.value).toISOString();
      body.rates = readRates();
      body.milestones = milestones.read();
      await api("/api/charity/campaigns", { method: "POST", body: JSON.stringify(body) });
      editError.hidden = true;
      await loadCampaigns();
    } catch (err) { showError(err, editError); }
  });

  edit.elements.currency.addEventListener("input", () => {
    milestones.relabel();
    for (const node of rateRows.querySelectorAll(".rate-to")) node.textContent = edit.elements.currency.value.trim().toUpperCase();
  });
  document.getElementById("charity-rate-add").addEventListener("click", () => {
    rateRow("", "").querySelector("input").focus();
  });
  document.getElementById("charity-milestone-add").addEventListener("click", () => {
    milestones.add(null).querySelector("input").focus();
  });
  pick.addEventListener("change", () => loadEntries().catch(showError));
  loadCampaigns().catch(showError);
})();
