// The milestone editor of the dashboards that set milestones (challenges, charity): a row
// per milestone (where it is, its name, a line to say in chat), with amounts typed as the
// streamer means them (200.00 dollars, 10 hours, 50 chatters) and sent as the API counts
// them (cents, minutes, counts). Under each row, what else the milestone does (switch an
// OBS scene, play an alert, give a badge, make contributors members, ...): a row of fields
// per action, added from a menu, with OBS's scenes and the server's badges, tiers and
// overlays suggested (GET /api/milestones/choices). Every value goes in with textContent or
// .value; no inline script.
//
//   const units = LimelightMilestones.units(() => ({ kind: "money", exponent: 2, unit: "USD" }));
//   const editor = LimelightMilestones.editor(listElement, units);
//   editor.load(specs); editor.add(); editor.read(); editor.clear(); editor.relabel();
//   const more = LimelightMilestones.actions(box, { except: (a) => ... });  // a reward's
//   more.load(actions); more.read("The reward"); more.clear();
//   LimelightMilestones.withChat(actions, "GG!")  // a list of actions with its chat line set
"use strict";

window.LimelightMilestones = (function () {
  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  // Converters between what is typed and what the API counts, for a unit that may change
  // while the form is open (the metric or the currency picked): `describe()` says which,
  // {kind: "money" | "minutes" | "count", exponent (money's decimals), unit (its name)}.
  function units(describe) {
    function toApi(text, what) {
      const d = describe();
      const raw = String(text || "").trim();
      const value = Number(raw.includes(".") ? raw : raw.replace(",", "."));
      if (!raw || !Number.isFinite(value) || value <= 0) {
        throw new Error(`${what}: write a number above 0, like ${d.kind === "money" ? "200.00" : "50"}`);
      }
      if (d.kind === "money") return Math.round(value * 10 ** d.exponent);
      if (d.kind === "minutes") return Math.round(value * 60);
      return Math.round(value);
    }
    function fromApi(amount) {
      const d = describe();
      if (d.kind === "money") return (Number(amount) / 10 ** d.exponent).toFixed(d.exponent);
      if (d.kind === "minutes") return String(Number((Number(amount) / 60).toFixed(2)));
      return String(amount);
    }
    function name() {
      const d = describe();
      return d.kind === "minutes" ? "hours" : d.unit || "";
    }
    return { toApi: toApi, fromApi: fromApi, name: name };
  }

  // The decimals of a currency as browsers know them (JPY 0, EUR 2), 2 when unknown.
  function exponentOf(currency) {
    try {
      return new Intl.NumberFormat("en", { style: "currency", currency: currency })
        .resolvedOptions().maximumFractionDigits;
    } catch (err) {
      return 2;
    }
  }

  // `actions` with its chat line set to `text` (in place; else where it was in `before`,
  // the list the form was filled from, or at the end; taken out when empty).
  function withChat(actions, text, before) {
    const out = (actions || []).slice();
    const isChat = (a) => a && a.do === "chat";
    const found = out.findIndex(isChat);
    const was = (before || []).findIndex(isChat);
    const line = { do: "chat", text: text };
    if (text && found >= 0) out[found] = Object.assign({}, out[found], line);
    else if (text) out.splice(was >= 0 ? Math.min(was, out.length) : out.length, 0, line);
    else if (found >= 0) out.splice(found, 1);
    return out;
  }

  // The text of a list of actions' chat line ("" without one).
  function chatText(actions) {
    const chat = (actions || []).find((a) => a && a.do === "chat");
    return chat ? chat.text || "" : "";
  }

  // -- the other actions of a milestone or reward ------------------------------------------
  //
  // Every action the milestone engine runs (core/limelight/milestones.py), in words, with
  // its fields. `need` marks what the server requires (`what` names it in an error);
  // `number` fields are sent as numbers; an empty field is left out (sent as "" when
  // `empty`); `choice` fields are sent as booleans; `list` names the suggestions (below).
  const KINDS = {
    obs_scene: { label: "Switch the OBS scene", fields: [
      { what: "the scene", name: "scene", label: "to", need: true, list: "scenes", placeholder: "Celebration" },
      { what: "the seconds", name: "seconds", label: "and back after", number: true, unit: "seconds", hint: "empty: stay" },
    ] },
    obs_source: { label: "Show or hide an OBS source", fields: [
      { name: "visible", choice: [["true", "Show"], ["false", "Hide"]] },
      { what: "the source", name: "source", label: "source", need: true, list: "sources", placeholder: "Confetti" },
      { what: "the scene", name: "scene", label: "in scene", list: "scenes", hint: "empty: the scene on air" },
      { what: "the seconds", name: "seconds", label: "for", number: true, unit: "seconds", hint: "empty: until changed" },
    ] },
    obs_text: { label: "Set an OBS text source", fields: [
      { what: "the text source", name: "source", label: "source", need: true, list: "text_sources", placeholder: "Goal text" },
      { what: "the text", name: "text", label: "to", wide: true, empty: true, placeholder: "{label} reached!" },
    ] },
    obs_filter: { label: "Turn an OBS filter on or off", fields: [
      { name: "enabled", choice: [["true", "Turn on"], ["false", "Turn off"]] },
      { what: "the filter", name: "filter", label: "filter", need: true, placeholder: "Rainbow" },
      { what: "the source", name: "source", label: "on", need: true, list: "sources", placeholder: "Camera" },
    ] },
    alert: { label: "Play an alert", fields: [
      { what: "the overlay", name: "overlay", label: "on", list: "overlays", hint: "empty: the alert box" },
      { what: "the kind of alert", name: "kind", label: "as", list: "kinds", value: "milestone" },
      { what: "the look", name: "variation", label: "look", list: "looks", hint: "empty: the kind's own" },
      { what: "the text", name: "text", label: "saying", wide: true, hint: "empty: the look's text" },
    ] },
    badge: { label: "Give everyone who counted a badge", fields: [
      { what: "the badge", name: "badge", label: "", need: true, list: "badges" },
    ] },
    unlock_command: { label: "Unlock a locked chat command", fields: [
      { what: "the command", name: "command", label: "", need: true, list: "commands", placeholder: "!command" },
      { what: "the minutes", name: "minutes", label: "for", need: true, number: true, unit: "minutes" },
    ] },
    vip_grant: { label: "Make everyone who counted a member", fields: [
      { what: "the tier", name: "tier", label: "of tier", need: true, list: "tiers" },
      { what: "the days", name: "days", label: "for", number: true, unit: "days", hint: "empty: until revoked" },
    ] },
    members_window: { label: "Members-only chat", fields: [
      { what: "the minutes", name: "minutes", label: "for", need: true, number: true, unit: "minutes" },
    ] },
  };

  // Suggestions for the fields, from GET /api/milestones/choices, read once a page: OBS's
  // scenes and sources (when OBS is connected), the overlays that play alerts with their
  // kinds and looks, the badges, the VIP tiers, the locked commands. Each is a <datalist>,
  // so anything else can still be typed.
  let choicesAsked = null;
  function datalist(name) {
    const id = "milestone-choices-" + name;
    let list = document.getElementById(id);
    if (!list) {
      list = el("datalist");
      list.id = id;
      document.body.appendChild(list);
    }
    return list;
  }
  function fill(name, options) {
    datalist(name).replaceChildren(...options.map(([value, label]) => {
      const option = el("option");
      option.value = value;
      if (label && label !== value) option.label = label;
      return option;
    }));
  }
  function askChoices() {
    if (choicesAsked) return choicesAsked;
    choicesAsked = window.limelightApi("/api/milestones/choices").then((c) => {
      const alerts = Object.entries(c.alerts || {});
      const unique = (values) => [...new Set(values)].map((v) => [v]);
      fill("scenes", c.obs.scenes.map((s) => [s]));
      fill("sources", c.obs.sources.map((s) => [s]));
      fill("text_sources", c.obs.text_sources.map((s) => [s]));
      fill("overlays", alerts.map(([name]) => [name]));
      fill("kinds", unique(alerts.flatMap(([, a]) => a.kinds)));
      fill("looks", unique(alerts.flatMap(([, a]) => a.looks)));
      fill("badges", c.badges.map((b) => [b.name, `${b.icon ? b.icon + " " : ""}${b.label}`]));
      fill("tiers", c.tiers.map((t) => [t.name, t.label]));
      fill("commands", c.commands.map((name) => [name]));
      return c;
    }, () => null);  // no suggestions: every field still takes what is typed
    return choicesAsked;
  }

  // What a name typed in a field with suggestions is checked against, and what is said
  // when it is not there (OBS's lists only while OBS is connected: a scene can be made
  // later); `null`: nothing to check against.
  function known(list, c) {
    const obs = c.obs.connected;
    const names = (items) => new Set(items.map((i) => (typeof i === "string" ? i : i.name)));
    switch (list) {
      case "scenes": return obs ? [names(c.obs.scenes), "OBS has no scene of this name now"] : null;
      case "sources": return obs ? [names(c.obs.sources), "OBS has no source of this name now"] : null;
      case "text_sources":
        return obs ? [names(c.obs.text_sources), "OBS has no text source of this name now"] : null;
      case "overlays": return [new Set(Object.keys(c.alerts || {})), "no overlay of this name plays alerts"];
      case "badges": return [names(c.badges), "there is no badge of this name"];
      case "tiers":
        return [names(c.tiers), c.tiers.length ? "there is no tier of this name" : "the VIP plugin is not running"];
      case "commands": return [names(c.commands), "there is no locked command of this name"];
      default: return null;
    }
  }

  // A warning beside `input` while its value is not one the server knows; it does not stop
  // the form (the server's own check decides what is saved).
  function warnUnknown(input, list, wrap) {
    const warn = el("span", null, "warn field-warn");
    warn.setAttribute("role", "status");
    wrap.appendChild(warn);
    function check() {
      askChoices().then((c) => {
        const found = c && known(list, c);
        const value = input.value.trim().replace(list === "commands" ? /^!/ : /$^/, "");
        warn.textContent = found && value && !found[0].has(value) ? found[1] : "";
      });
    }
    input.addEventListener("input", check);
    check();
  }

  // One action as a row of fields. An action of a kind this page does not know (a newer
  // server's) is shown by name and kept as it is.
  function actionRow(action) {
    const kind = KINDS[action.do];
    const row = el("li", null, "action-row");
    row.action = action;
    row.appendChild(el("span", kind ? kind.label : `${action.do} (kept as set)`, "action-name"));
    for (const f of kind ? kind.fields : []) {
      const wrap = el("label", f.label ? f.label + " " : null);
      let input;
      if (f.choice) {
        input = el("select");
        for (const [value, text] of f.choice) {
          const option = el("option", text);
          option.value = value;
          input.appendChild(option);
        }
        input.value = action[f.name] === false ? "false" : "true";
      } else {
        input = el("input");
        const value = action[f.name];
        input.value = value === undefined || value === null ? (f.value || "") : String(value);
        if (f.number) input.inputMode = "decimal";
        if (f.wide) input.className = "wide";
        if (f.list) input.setAttribute("list", datalist(f.list).id);
        if (f.placeholder) input.placeholder = f.placeholder;
      }
      input.name = "action-" + f.name;
      input.dataset.field = f.name;
      wrap.appendChild(input);
      if (f.unit) wrap.appendChild(el("span", f.unit, "muted"));
      if (f.hint) wrap.appendChild(el("span", `(${f.hint})`, "hint"));
      if (f.list) warnUnknown(input, f.list, wrap);
      row.appendChild(wrap);
    }
    const remove = el("button", "Remove", "secondary");
    remove.type = "button";
    remove.setAttribute("aria-label", `Remove: ${kind ? kind.label : action.do}`);
    remove.addEventListener("click", () => row.remove());
    row.appendChild(remove);
    return row;
  }

  // The action a row holds, as the API takes it; `where` names it in an error.
  function readAction(row, where) {
    const kind = KINDS[row.action.do];
    if (!kind) return row.action;
    const out = { do: row.action.do };
    for (const f of kind.fields) {
      const input = row.querySelector(`[data-field="${f.name}"]`);
      const raw = input.value.trim();
      if (f.choice) { out[f.name] = raw === "true"; continue; }
      if (!raw) {
        if (f.need) throw new Error(`${where}: “${kind.label}” needs ${f.what}`);
        if (f.empty) out[f.name] = "";
        continue;
      }
      if (f.number) {
        const n = Number(raw.replace(",", "."));
        if (!Number.isFinite(n) || n <= 0) {
          throw new Error(`${where}: “${kind.label}”: write ${f.what} as a number above 0`);
        }
        out[f.name] = n;
      } else {
        out[f.name] = f.name === "command" ? raw.replace(/^!/, "") : raw;
      }
    }
    return out;
  }

  // An editor of a list of actions besides the chat line (and what `except` picks out,
  // edited elsewhere in the form): a row each, and a menu to add one.
  //   const more = LimelightMilestones.actions(container, { except: isBadge });
  //   more.load(actions); more.read("Milestone 2") -> [...]; more.clear();
  function actions(container, options) {
    const except = (options && options.except) || (() => false);
    const list = el("ul", null, "action-rows");
    const add = el("select", null, "action-add");
    add.setAttribute("aria-label", "Add an action");
    add.appendChild(el("option", "Also do…"));
    add.firstChild.value = "";
    for (const [name, kind] of Object.entries(KINDS)) {
      const option = el("option", kind.label);
      option.value = name;
      add.appendChild(option);
    }
    add.addEventListener("change", () => {
      if (!add.value) return;
      const row = actionRow({ do: add.value });
      list.appendChild(row);
      add.value = "";
      const first = row.querySelector("input, select");
      if (first) first.focus();
    });
    container.append(list, add);
    askChoices();
    return {
      load(items) {
        list.replaceChildren(...(items || []).filter((a) => a && a.do !== "chat" && !except(a)).map(actionRow));
      },
      read(where) {
        return [...list.children].map((row) => readAction(row, where));
      },
      clear() { list.replaceChildren(); },
    };
  }

  function editor(list, unit) {
    function field(row, label, name, value, extra) {
      const wrap = el("label", label);
      const input = el("input");
      input.name = name;
      input.value = value;
      wrap.appendChild(input);
      if (extra) wrap.appendChild(extra);
      row.appendChild(wrap);
      return input;
    }

    function add(spec) {
      const row = el("li", null, "field-row");
      row.spec = spec || { actions: [] };
      const at = field(row, "At ", "milestone-at", spec ? unit.fromApi(spec.at) : "",
        el("span", unit.name(), "milestone-unit"));
      at.inputMode = "decimal";
      at.size = 8;
      field(row, "Name ", "milestone-label", (spec && spec.label) || "");
      field(row, "Say in chat ", "milestone-chat", chatText(row.spec.actions));
      const remove = el("button", "Remove", "secondary");
      remove.type = "button";
      remove.addEventListener("click", () => row.remove());
      row.appendChild(remove);
      const box = el("div", null, "action-box");
      row.appendChild(box);
      row.more = actions(box);
      row.more.load(row.spec.actions);
      list.appendChild(row);
      return row;
    }

    function read() {
      return [...list.children].map((row, n) => {
        const get = (name) => row.querySelector(`input[name=${name}]`).value.trim();
        const where = `Milestone ${n + 1}`;
        return Object.assign({}, row.spec, {
          at: unit.toApi(get("milestone-at"), where),
          label: get("milestone-label"),
          actions: withChat(row.more.read(where), get("milestone-chat"), row.spec.actions),
        });
      });
    }

    return {
      add: add,
      read: read,
      load(specs) {
        list.replaceChildren();
        for (const spec of specs || []) add(spec);
      },
      clear() { list.replaceChildren(); },
      relabel() {
        for (const node of list.querySelectorAll(".milestone-unit")) node.textContent = unit.name();
      },
    };
  }

  return {
    units: units, editor: editor, actions: actions, exponentOf: exponentOf,
    withChat: withChat, chatText: chatText,
  };
})();
