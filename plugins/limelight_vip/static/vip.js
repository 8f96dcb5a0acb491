// The Members dashboard. Every value that came from a viewer or a provider is inserted with
// textContent (never innerHTML); the page runs under a CSP without inline scripts, and
// every request goes through the core's CSRF-guarded limelightFetch / limelightApi.
"use strict";

(function () {
  const api = window.limelightApi;
  const fetchGuarded = window.limelightFetch;

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  const errorBox = document.getElementById("vip-error");
  function showError(err) {
    errorBox.hidden = false;
    errorBox.textContent = err && err.message ? err.message : String(err);
  }
  function clearError() { errorBox.hidden = true; errorBox.textContent = ""; }

  // -- members --------------------------------------------------------------------------
  const filters = document.getElementById("vip-filters");
  const rows = document.getElementById("vip-rows");
  const counts = document.getElementById("vip-counts");
  const exportLink = document.getElementById("vip-export");

  function query() {
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(filters).entries()) {
      if (String(value).trim()) params.set(key, String(value).trim());
    }
    return params;
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : "—";
  }

  function memberRow(m) {
    const tr = el("tr", null, m.status);
    tr.appendChild(el("td", m.viewer.name + " (" + m.viewer.platform + ")"));
    tr.appendChild(el("td", m.kind === "member" ? m.tier_label : "supporter: " + m.tier));
    tr.appendChild(el("td", m.source + (m.granted_by ? " · " + m.granted_by : "")));
    tr.appendChild(el("td", when(m.starts)));
    tr.appendChild(el("td", m.ends ? when(m.ends) : "no end"));
    tr.appendChild(el("td", m.status));
    tr.appendChild(el("td", m.amount || ""));
    const actions = el("td");
    if (m.status === "current" || m.status === "queued") {
      const extend = el("button", "+30 days");
      extend.type = "button";
      extend.addEventListener("click", async () => {
        try {
          await api("/api/vip/members/" + m.id + "/extend", { method: "POST", body: JSON.stringify({ days: 30 }) });
          load();
        } catch (err) { showError(err); }
      });
      const revoke = el("button", "Revoke", "danger");
      revoke.type = "button";
      revoke.addEventListener("click", async () => {
        if ((await window.limelightDialog({ title: "Revoke this membership?", message: m.viewer.name + " loses " + m.tier_label + " and everything it unlocked.", confirm: "Revoke", danger: true })) === null) return;
        try {
          await api("/api/vip/members/" + m.id + "/revoke", { method: "POST", body: JSON.stringify({}) });
          load();
        } catch (err) { showError(err); }
      });
      if (m.ends) actions.appendChild(extend);
      actions.appendChild(revoke);
      if (typeof m.room_link === "string" && /^https?:\/\//.test(m.room_link)) {
        const room = el("a", "Room link");
        room.href = m.room_link;
        room.target = "_blank";
        room.rel = "noopener noreferrer";
        room.title = "This member's personal link to the members' room";
        actions.appendChild(room);
      }
    }
    tr.appendChild(actions);
    return tr;
  }

  async function load() {
    clearError();
    const params = query();
    exportLink.href = "/api/vip/export.csv?" + params.toString();
    try {
      const data = await api("/api/vip/members?" + params.toString());
      rows.replaceChildren();
      if (!data.members.length) {
        const tr = el("tr");
        const td = el("td", "No memberships match.", "empty");
        td.colSpan = 8;
        tr.appendChild(td);
        rows.appendChild(tr);
      }
      data.members.forEach((m) => rows.appendChild(memberRow(m)));
      const parts = Object.keys(data.counts).map((t) => (data.labels[t] || t) + ": " + data.counts[t]);
      counts.textContent = parts.length ? "Current members — " + parts.join(", ") : "No current members.";
      showWindow(data.window);
    } catch (err) { showError(err); }
  }
  filters.addEventListener("submit", (e) => { e.preventDefault(); load(); });

  // -- grant ------------------------------------------------------------------------------
  const grantForm = document.getElementById("vip-grant");
  grantForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = new FormData(grantForm);
    const id = (window.crypto && window.crypto.randomUUID) ? window.crypto.randomUUID()
      : String(Date.now()) + Math.random().toString(16).slice(2);
    try {
      await api("/api/vip/members", {
        method: "POST",
        body: JSON.stringify({
          name: String(form.get("name") || ""),
          tier: String(form.get("tier") || ""),
          days: parseInt(String(form.get("days") || "0"), 10) || 0,
          reason: String(form.get("reason") || ""),
          request_id: id,
        }),
      });
      grantForm.reset();
      load();
    } catch (err) { showError(err); }
  });

  // -- members-only chat ------------------------------------------------------------------
  const windowState = document.getElementById("vip-window-state");
  function showWindow(w) {
    if (!w) return;
    windowState.textContent = w.open
      ? "members-only until " + new Date(w.until).toLocaleTimeString() + " (" + w.reason + ")"
      : "open to everyone";
  }
  document.getElementById("vip-window-on").addEventListener("click", async () => {
    const minutes = parseInt(document.getElementById("vip-window-minutes").value, 10) || 10;
    try { showWindow(await api("/api/vip/window", { method: "POST", body: JSON.stringify({ open: true, minutes }) })); }
    catch (err) { showError(err); }
  });
  document.getElementById("vip-window-off").addEventListener("click", async () => {
    try { showWindow(await api("/api/vip/window", { method: "POST", body: JSON.stringify({ open: false }) })); }
    catch (err) { showError(err); }
  });

  // -- emotes -----------------------------------------------------------------------------
  const emoteForm = document.getElementById("vip-emote");
  const emoteList = document.getElementById("vip-emotes");
  async function loadEmotes() {
    try {
      const data = await api("/api/vip/emotes");
      emoteList.replaceChildren();
      data.emotes.forEach((e) => {
        const li = el("li");
        const img = el("img");
        img.src = e.url;
        img.alt = ":" + e.code + ":";
        li.appendChild(img);
        li.appendChild(el("code", ":" + e.code + ":"));
        li.appendChild(el("span", e.tier));
        const del = el("button", "Delete", "danger");
        del.type = "button";
        del.addEventListener("click", async () => {
          try { await api("/api/vip/emotes/" + e.id, { method: "DELETE" }); loadEmotes(); }
          catch (err) { showError(err); }
        });
        li.appendChild(del);
        emoteList.appendChild(li);
      });
    } catch (err) { showError(err); }
  }
  emoteForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const response = await fetchGuarded("/p/vip/emotes", { method: "POST", body: new FormData(emoteForm) });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        throw new Error(body.error || ("upload failed (" + response.status + ")"));
      }
      emoteForm.reset();
      loadEmotes();
    } catch (err) { showError(err); }
  });

  // -- tiers ------------------------------------------------------------------------------
  const tierBody = document.getElementById("vip-tiers");
  const tierState = document.getElementById("vip-tier-state");
  // One card per tier, its fields in groups: who it is, what it unlocks, what grants it,
  // what it costs. Every field is labelled, so nothing is cut off at any width. The perks
  // are config.py's PERKS, in its order, with the words the page shows for them.
  const PERK_LABELS = { emotes: "Exclusive emotes", room: "Members' room", content: "Members' content",
                        members_only_chat: "Members-only chat", early_access: "Early access" };
  const GROUPS = [
    ["Tier", [["name", "Name (id)", "gold"], ["label", "Label viewers read", "Gold"],
              ["badge", "Badge", "★"], ["colour", "Colour"], ["highlight", "Highlight their chat lines"]]],
    ["Granted by", [["twitch_tier", "Twitch sub tier", "1000, 2000 or 3000"],
                    ["kofi_tier", "Ko-fi tier name", "the label"],
                    ["fourthwall_tier", "Fourthwall tier id", "none"]]],
    ["Sold here", [["price", "Price", "4.99"], ["currency", "Currency", "USD"], ["period", "Per"],
                   ["stripe_payment_link", "Stripe Payment Link", "https://buy.stripe.com/…"]]],
  ];

  function tierInput(field, t, hint) {
    let input;
    if (field === "highlight") {
      input = el("input");
      input.type = "checkbox";
      input.checked = !!t.highlight;
    } else if (field === "period") {
      input = el("select");
      ["month", "year"].forEach((period) => {
        const o = el("option", period);
        o.value = period;
        o.selected = t.period === period;
        input.appendChild(o);
      });
    } else if (field === "colour") {
      input = el("input");
      input.type = "color";
      input.value = t.colour || "#9146ff";
    } else {
      input = el("input");
      input.value = String(t[field] || "");
      if (hint) input.placeholder = hint;
    }
    input.dataset.field = field;
    return input;
  }

  function tierCard(t) {
    const card = el("fieldset", null, "field-group vip-tier");
    const legend = el("legend");
    const heading = () => {
      const label = card.querySelector("[data-field=label]").value.trim();
      const name = card.querySelector("[data-field=name]").value.trim();
      legend.textContent = (card.querySelector("[data-field=badge]").value.trim() + " " +
                            (label || name || "New tier")).trim();
    };
    card.appendChild(legend);
    GROUPS.forEach(([title, fields]) => {
      const group = el("div", null, "vip-tier-group");
      group.appendChild(el("h3", title));
      const grid = el("div", null, "vip-tier-grid");
      fields.forEach(([field, words, hint]) => {
        const label = el("label", null, field === "highlight" ? "vip-tier-check" : "");
        const input = tierInput(field, t, hint);
        if (field === "highlight") { label.appendChild(input); label.appendChild(document.createTextNode(words)); }
        else { label.appendChild(document.createTextNode(words)); label.appendChild(input); }
        grid.appendChild(label);
      });
      group.appendChild(grid);
      card.appendChild(group);
      if (title === "Tier") {
        const perks = el("div", null, "vip-tier-group");
        perks.appendChild(el("h3", "Perks"));
        const boxes = el("div", null, "vip-perks");
        const chosen = new Set(t.perks || []);
        Object.keys(PERK_LABELS).forEach((perk) => {
          const label = el("label", null, "vip-tier-check");
          const box = el("input");
          box.type = "checkbox";
          box.dataset.perk = perk;
          box.checked = chosen.has(perk);
          label.appendChild(box);
          label.appendChild(document.createTextNode(PERK_LABELS[perk]));
          boxes.appendChild(label);
        });
        perks.appendChild(boxes);
        card.appendChild(perks);
      }
    });
    const remove = el("button", "Remove this tier", "danger secondary");
    remove.type = "button";
    remove.addEventListener("click", () => card.remove());
    card.appendChild(remove);
    card.addEventListener("input", heading);
    heading();
    return card;
  }

  function readTiers() {
    return Array.from(tierBody.children).map((card) => {
      const t = {};
      card.querySelectorAll("[data-field]").forEach((input) => {
        const f = input.dataset.field;
        t[f] = f === "highlight" ? input.checked : input.value.trim();
      });
      t.perks = Array.from(card.querySelectorAll("input[data-perk]:checked"), (box) => box.dataset.perk);
      return t;
    });
  }

  function showTiers(data) {
    tierBody.replaceChildren();
    data.tiers.forEach((t) => tierBody.appendChild(tierCard(t)));
    tierState.textContent = data.from === "dashboard" ? "Tiers saved in the dashboard." : "Tiers from the config file.";
  }

  async function loadTiers() {
    try { showTiers(await api("/api/vip/tiers")); } catch (err) { showError(err); }
  }
  document.getElementById("vip-tier-add").addEventListener("click", () => {
    const card = tierCard({ name: "", label: "", colour: "#9146ff", badge: "★", perks: ["emotes"], period: "month" });
    tierBody.appendChild(card);
    card.querySelector("[data-field=name]").focus();
  });
  document.getElementById("vip-tier-save").addEventListener("click", async () => {
    try { showTiers(await api("/api/vip/tiers", { method: "PUT", body: JSON.stringify({ tiers: readTiers() }) })); clearError(); }
    catch (err) { showError(err); }
  });
  document.getElementById("vip-tier-reset").addEventListener("click", async () => {
    if ((await window.limelightDialog({ title: "Use the tiers from config.toml?", message: "The tiers saved here are dropped.", confirm: "Use config", danger: true })) === null) return;
    try { showTiers(await api("/api/vip/tiers", { method: "DELETE" })); } catch (err) { showError(err); }
  });

  load();
  loadEmotes();
  loadTiers();
})();
