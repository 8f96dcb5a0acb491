// The home page: the activity feed (every event in words, with an icon, its time, a filter
// by type and a replay button for the alerts an event played) and the copy buttons. The
// sentences come from the server (GET /api/activity: the one money formatter, labels such
// as "New member"); everything goes into the page with textContent, never as HTML.
"use strict";

(function () {
  const api = window.limelightApi;
  const SVG = "http://www.w3.org/2000/svg";
  const list = document.getElementById("events");
  const filter = document.getElementById("event-filter");
  const feedback = document.getElementById("events-feedback");
  if (!list) return;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null && text !== "") node.textContent = String(text);
    return node;
  }

  function icon(name) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "icon icon-" + name);
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("width", "20");
    svg.setAttribute("height", "20");
    const use = document.createElementNS(SVG, "use");
    use.setAttribute("href", "/-/static/icons.svg#" + name);
    svg.append(use);
    return svg;
  }

  const relative = typeof Intl.RelativeTimeFormat === "function"
    ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }) : null;

  function ago(date) {
    const seconds = Math.round((date.getTime() - Date.now()) / 1000);
    const abs = Math.abs(seconds);
    if (!relative) return date.toLocaleString();
    if (abs < 45) return relative.format(0, "second") === "now" ? "just now" : relative.format(seconds, "second");
    if (abs < 3600) return relative.format(Math.round(seconds / 60), "minute");
    if (abs < 86400) return relative.format(Math.round(seconds / 3600), "hour");
    if (abs < 7 * 86400) return relative.format(Math.round(seconds / 86400), "day");
    return date.toLocaleDateString();
  }

  function timeOf(iso) {
    const date = new Date(iso);
    const node = el("time", "when");
    if (isNaN(date.getTime())) return node;
    node.dateTime = date.toISOString();
    node.title = date.toLocaleString();
    node.textContent = ago(date);
    return node;
  }

  function line(event) {
    const li = el("li", "event event-" + event.icon + (event.test ? " is-test" : ""));
    li.dataset.type = event.type;
    li.append(icon(event.icon));
    const body = el("div", "event-body");
    const head = el("div", "event-head");
    head.append(el("span", "label", event.label));
    if (event.test) head.append(el("span", "tag", "Test"));
    head.append(timeOf(event.occurred_at));
    body.append(head);
    body.append(el("p", "text", event.text));
    if (event.detail) body.append(el("p", "detail", event.detail));
    if (event.problem) body.append(el("p", "problem", event.problem));
    li.append(body);
    if (event.alerts && event.alerts.length) {
      const alert = event.alerts[0];
      const replay = el("button", "secondary replay", "Replay alert");
      replay.type = "button";
      replay.dataset.overlay = alert.overlay;
      replay.dataset.alert = String(alert.id);
      li.append(replay);
    }
    return li;
  }

  let knownTypes = "";
  function fillFilter(types) {
    if (!filter) return;
    const key = types.map(function (t) { return t.type; }).join(",");
    if (key === knownTypes) return;
    knownTypes = key;
    const chosen = filter.value;
    filter.replaceChildren(el("option", "", "Everything"));
    filter.firstChild.value = "";
    for (const t of types) {
      const option = el("option", "", t.label);
      option.value = t.type;
      filter.append(option);
    }
    filter.value = chosen;
  }

  async function refresh() {
    const type = filter ? filter.value : "";
    const path = "/api/activity?limit=" + (list.dataset.limit || "30") + (type ? "&type=" + encodeURIComponent(type) : "");
    try {
      const answer = await api(path);
      fillFilter(answer.types);
      if (filter && filter.value !== type) return; // the filter changed meanwhile
      const items = answer.events.map(line);
      if (!items.length) items.push(el("li", "empty", type ? "Nothing of this type yet." : "Nothing has happened yet. Tips, chat, subs and raids show up here."));
      list.replaceChildren.apply(list, items);
      list.dataset.loaded = "true";
    } catch (err) {
      list.replaceChildren(el("li", "error", err.message));
    }
  }

  list.addEventListener("click", async function (event) {
    const button = event.target.closest("button.replay");
    if (!button) return;
    button.disabled = true;
    try {
      await api("/api/overlays/" + encodeURIComponent(button.dataset.overlay) + "/replay/" + encodeURIComponent(button.dataset.alert), { method: "POST", body: "{}" });
      if (feedback) { feedback.textContent = "The alert plays again."; feedback.className = "feedback ok"; }
    } catch (err) {
      if (feedback) { feedback.textContent = err.message; feedback.className = "feedback error"; }
    } finally {
      button.disabled = false;
    }
  });
  if (filter) filter.addEventListener("change", refresh);
  refresh();
  setInterval(refresh, 3000);
})();
