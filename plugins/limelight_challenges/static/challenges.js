// The challenges dashboard. Calls the API through window.limelightApi (csrf-fetch.js);
// every value is inserted with textContent; no inline script (CSP).
"use strict";

(function () {
  const api = window.limelightApi;
  const rows = document.getElementById("challenges-rows");
  const errorBox = document.getElementById("challenges-error");
  const form = document.getElementById("challenge-form");
  const formError = document.getElementById("challenge-form-error");
  const formTitle = document.getElementById("challenge-form-title");
  const review = document.getElementById("challenge-review");

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function show(box, err) {
    box.hidden = !err;
    box.textContent = err ? (err.message || String(err)) : "";
  }

  function button(label, onClick) {
    const b = el("button", label);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  // -- amounts in the metric's own unit ----------------------------------------------------
  // The API counts in integers (cents, minutes, messages); the streamer types what they
  // mean: 200.00 (dollars), 10 (hours live), 50 (chatters).
  const exp = Number(form.dataset.exponent || 2);
  const milestoneRows = document.getElementById("milestone-rows");

  function metric() {
    const option = form.elements.metric.selectedOptions[0];
    return option ? { kind: option.dataset.kind, unit: option.dataset.unit } : { kind: "count", unit: "" };
  }

  function unitText() {
    const m = metric();
    return m.kind === "minutes" ? "hours" : m.unit;
  }

  function toApi(text, what) {
    const raw = String(text || "").trim();
    const value = Number(raw.includes(".") ? raw : raw.replace(",", "."));
    if (!raw || !Number.isFinite(value) || value <= 0) {
      throw new Error(`${what}: write a number above 0, like ${metric().kind === "money" ? "200.00" : "50"}`);
    }
    const kind = metric().kind;
    if (kind === "money") return Math.round(value * 10 ** exp);
    if (kind === "minutes") return Math.round(value * 60);
    return Math.round(value);
  }

  function fromApi(amount) {
    const kind = metric().kind;
    if (kind === "money") return (amount / 10 ** exp).toFixed(exp);
    if (kind === "minutes") return String(Number((amount / 60).toFixed(2)));
    return String(amount);
  }

  function showUnits() {
    for (const node of form.querySelectorAll(".metric-unit")) node.textContent = unitText();
  }

  // A milestone row: where it is, its name, and the chat line it says; any other action
  // it holds (an OBS scene, a badge: set in config.toml or the API) is kept as it is.
  function milestoneRow(spec) {
    const li = el("li", null, "milestone-row");
    li.spec = spec || { actions: [] };
    const chat = (li.spec.actions || []).find((a) => a && a.do === "chat");
    function field(label, name, value, extra) {
      const wrap = el("label", label);
      const input = el("input");
      input.name = name;
      input.value = value;
      wrap.appendChild(input);
      if (extra) wrap.appendChild(extra);
      li.appendChild(wrap);
      return input;
    }
    const unit = el("span", unitText(), "metric-unit");
    const at = field("At ", "milestone-at", spec ? fromApi(spec.at) : "", unit);
    at.inputMode = "decimal";
    at.size = 8;
    field("Name ", "milestone-label", (spec && spec.label) || "");
    field("Say in chat ", "milestone-chat", chat ? chat.text || "" : "");
    const others = (li.spec.actions || []).filter((a) => !a || a.do !== "chat");
    if (others.length) {
      li.appendChild(el("p", `Also: ${others.map((a) => a && a.do).join(", ")} (kept as set)`, "hint"));
    }
    const remove = button("Remove", () => li.remove());
    remove.className = "secondary";
    li.appendChild(remove);
    milestoneRows.appendChild(li);
    return li;
  }

  function milestonesOf() {
    return [...milestoneRows.children].map((li, n) => {
      const get = (name) => li.querySelector(`input[name=${name}]`).value.trim();
      const actions = (li.spec.actions || []).slice();
      const text = get("milestone-chat");
      const found = actions.findIndex((a) => a && a.do === "chat");
      if (text && found >= 0) actions[found] = Object.assign({}, actions[found], { text: text });
      else if (text) actions.push({ do: "chat", text: text });
      else if (found >= 0) actions.splice(found, 1);
      return Object.assign({}, li.spec, {
        at: toApi(get("milestone-at"), `milestone ${n + 1}`),
        label: get("milestone-label"),
        actions: actions,
      });
    });
  }

  function localValue(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function edit(item) {
    const s = item.settings;
    form.elements.id.value = String(item.id);
    form.elements.key.value = s.key;
    form.elements.key.readOnly = true;
    form.elements.title.value = s.title;
    form.elements.metric.value = s.metric;
    showUnits();
    form.elements.target.value = fromApi(s.target);
    form.elements.window.value = s.window;
    form.elements.starts.value = localValue(s.starts);
    form.elements.ends.value = localValue(s.ends);
    form.elements.recurring.checked = !!s.recurring;
    form.elements.audience.value = s.audience;
    form.elements.show.checked = !!s.show;
    milestoneRows.replaceChildren();
    for (const spec of s.milestones || []) milestoneRow(spec);
    form.elements.rewards.value = JSON.stringify(s.rewards, null, 2);
    formTitle.textContent = "Edit: " + s.title;
    form.scrollIntoView();
  }

  async function showReview(item) {
    try {
      const body = await api(`/api/challenges/${item.id}/review`);
      review.hidden = false;
      document.getElementById("challenge-review-title").textContent = item.title;
      const list = document.getElementById("challenge-review-runs");
      list.replaceChildren();
      if (!body.runs.length) list.appendChild(el("li", "No window has run yet.", "empty"));
      for (const run of body.runs) {
        const li = el("li");
        li.appendChild(el("strong", run.window));
        li.appendChild(el("span", ` — ${run.total}, ${run.contributions} contributions from ${run.contributors} viewers` +
          (run.completed_at ? `, completed ${new Date(run.completed_at).toLocaleString()}` : "") +
          (run.open ? " (running)" : "")));
        const fired = el("ul");
        for (const m of run.milestones) {
          const states = m.actions.map((a) => `${a.do}: ${a.state}`).join("; ");
          fired.appendChild(el("li", `${m.label || m.at} fired ${new Date(m.fired_at).toLocaleString()}` +
            (states ? ` — ${states}` : "")));
        }
        li.appendChild(fired);
        list.appendChild(li);
      }
    } catch (err) { show(errorBox, err); }
  }

  async function pause(item) {
    try {
      await api(`/api/challenges/${item.id}/${item.paused ? "resume" : "pause"}`, { method: "POST", body: "{}" });
      await load();
    } catch (err) { show(errorBox, err); }
  }

  function row(item) {
    const tr = el("tr");
    const title = el("td");
    title.appendChild(el("strong", item.title));
    title.appendChild(el("div", item.key, "muted"));
    tr.appendChild(title);
    tr.appendChild(el("td", item.metric_label));
    tr.appendChild(el("td", item.window + (item.left ? ` (${item.left})` : "")));
    const progress = el("td");
    const bar = el("span", null, "challenges-bar");
    const fill = el("span");
    fill.style.width = `${Math.max(0, Math.min(100, Number(item.percent) || 0))}%`;
    bar.appendChild(fill);
    progress.appendChild(bar);
    progress.appendChild(el("span", " " + item.progress));
    tr.appendChild(progress);
    tr.appendChild(el("td", item.paused ? "paused" : item.completed ? "completed" : item.running ? "running" : "waiting for its window"));
    const actions = el("td", null, "actions");
    actions.appendChild(button("Edit", () => edit(item)));
    actions.appendChild(button(item.paused ? "Resume" : "Pause", () => pause(item)));
    actions.appendChild(button("Review", () => showReview(item)));
    tr.appendChild(actions);
    return tr;
  }

  async function load() {
    try {
      const body = await api("/api/challenges");
      rows.replaceChildren();
      if (!body.challenges.length) {
        const tr = el("tr");
        const td = el("td", "No challenges yet: create one below.", "empty");
        td.colSpan = 6;
        tr.appendChild(td);
        rows.appendChild(tr);
      }
      for (const item of body.challenges) rows.appendChild(row(item));
      show(errorBox, null);
    } catch (err) { show(errorBox, err); }
  }

  function parseList(name) {
    const text = form.elements[name].value.trim() || "[]";
    try { return JSON.parse(text); } catch (e) { throw new Error(`${name}: not valid JSON`); }
  }

  function isoOrNull(value) {
    return value ? new Date(value).toISOString() : null;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const id = form.elements.id.value;
      const payload = {
        key: form.elements.key.value.trim(),
        title: form.elements.title.value.trim(),
        metric: form.elements.metric.value,
        target: toApi(form.elements.target.value, "Target"),
        window: form.elements.window.value,
        starts: isoOrNull(form.elements.starts.value),
        ends: isoOrNull(form.elements.ends.value),
        recurring: form.elements.recurring.checked,
        audience: form.elements.audience.value,
        show: form.elements.show.checked,
        milestones: milestonesOf(),
        rewards: parseList("rewards"),
      };
      await api(id ? `/api/challenges/${id}` : "/api/challenges", { method: "POST", body: JSON.stringify(payload) });
      show(formError, null);
      form.reset();
      await load();
    } catch (err) { show(formError, err); }
  });

  form.addEventListener("reset", () => {
    form.elements.id.value = "";
    form.elements.key.readOnly = false;
    formTitle.textContent = "New challenge";
    milestoneRows.replaceChildren();
    setTimeout(showUnits);  // after the form's own reset put the first metric back
  });
  form.elements.metric.addEventListener("change", showUnits);
  document.getElementById("milestone-add").addEventListener("click", () => {
    milestoneRow(null).querySelector("input").focus();
  });

  showUnits();
  load();
})();
