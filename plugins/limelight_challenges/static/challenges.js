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

  // Amounts in the metric's own unit (milestone-editor.js): 200.00 dollars, 10 hours live,
  // 50 chatters in the form; cents, minutes and counts in the API.
  const M = window.LimelightMilestones;
  const exp = Number(form.dataset.exponent || 2);
  function metric() {
    const option = form.elements.metric.selectedOptions[0];
    return option
      ? { kind: option.dataset.kind, unit: option.dataset.unit, exponent: exp }
      : { kind: "count", unit: "", exponent: exp };
  }
  const units = M.units(metric);
  const milestones = M.editor(document.getElementById("milestone-rows"), units);

  function showUnits() {
    for (const node of form.querySelectorAll(".metric-unit")) node.textContent = units.name();
    milestones.relabel();
  }

  // The rewards: a chat line, the Challenger badge, and any other action as a row of its
  // own (an OBS scene, a VIP grant; milestone-editor.js).
  const isBadge = (a) => a && a.do === "badge" && a.badge === "challenger";
  const rewardMore = M.actions(document.getElementById("reward-actions"), { except: isBadge });
  let rewards = [];
  function showRewards(actions) {
    rewards = actions || [];
    form.elements["reward-chat"].value = M.chatText(rewards);
    form.elements["reward-badge"].checked = rewards.some(isBadge);
    rewardMore.load(rewards);
  }
  function readRewards() {
    const out = M.withChat(rewardMore.read("The reward"), form.elements["reward-chat"].value.trim(),
      rewards);
    if (form.elements["reward-badge"].checked) {
      const was = rewards.findIndex(isBadge);
      out.splice(was >= 0 ? Math.min(was, out.length) : out.length, 0, { do: "badge", badge: "challenger" });
    }
    return out;
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
    form.elements.target.value = units.fromApi(s.target);
    form.elements.window.value = s.window;
    form.elements.starts.value = localValue(s.starts);
    form.elements.ends.value = localValue(s.ends);
    form.elements.recurring.checked = !!s.recurring;
    form.elements.audience.value = s.audience;
    form.elements.show.checked = !!s.show;
    milestones.load(s.milestones);
    showRewards(s.rewards);
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
        target: units.toApi(form.elements.target.value, "Target"),
        window: form.elements.window.value,
        starts: isoOrNull(form.elements.starts.value),
        ends: isoOrNull(form.elements.ends.value),
        recurring: form.elements.recurring.checked,
        audience: form.elements.audience.value,
        show: form.elements.show.checked,
        milestones: milestones.read(),
        rewards: readRewards(),
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
    milestones.clear();
    rewards = [];
    rewardMore.clear();
    setTimeout(showUnits);  // after the form's own reset put the first metric back
  });
  form.elements.metric.addEventListener("change", showUnits);
  document.getElementById("milestone-add").addEventListener("click", () => {
    milestones.add(null).querySelector("input").focus();
  });

  showUnits();
  load();
})();
