// The milestone editor of the dashboards that set milestones (challenges, charity): a row
// per milestone (where it is, its name, a line to say in chat), with amounts typed as the
// streamer means them (200.00 dollars, 10 hours, 50 chatters) and sent as the API counts
// them (cents, minutes, counts). Any other action a milestone holds (an OBS scene, a
// badge: set in config.toml or the API, see docs/milestones.md) is listed under its row
// and kept as it is. Every value goes in with textContent or .value; no inline script.
//
//   const units = LimelightMilestones.units(() => ({ kind: "money", exponent: 2, unit: "USD" }));
//   const editor = LimelightMilestones.editor(listElement, units);
//   editor.load(specs); editor.add(); editor.read(); editor.clear(); editor.relabel();
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

  // `actions` with its chat line set to `text` (in place, added, or taken out when empty).
  function withChat(actions, text) {
    const out = (actions || []).slice();
    const found = out.findIndex((a) => a && a.do === "chat");
    if (text && found >= 0) out[found] = Object.assign({}, out[found], { text: text });
    else if (text) out.push({ do: "chat", text: text });
    else if (found >= 0) out.splice(found, 1);
    return out;
  }

  // The text of a list of actions' chat line ("" without one).
  function chatText(actions) {
    const chat = (actions || []).find((a) => a && a.do === "chat");
    return chat ? chat.text || "" : "";
  }

  // "Also: obs_scene, badge (kept as set)" for what a list of actions holds besides its
  // chat line and what `except` picks out (shown elsewhere in the form); "" for nothing.
  function alsoText(actions, except) {
    const others = (actions || []).filter((a) => !a || (a.do !== "chat" && !(except && except(a))));
    return others.length ? `Also: ${others.map((a) => a && a.do).join(", ")} (kept as set)` : "";
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
      const also = alsoText(row.spec.actions);
      if (also) row.appendChild(el("p", also, "hint"));
      const remove = el("button", "Remove", "secondary");
      remove.type = "button";
      remove.addEventListener("click", () => row.remove());
      row.appendChild(remove);
      list.appendChild(row);
      return row;
    }

    function read() {
      return [...list.children].map((row, n) => {
        const get = (name) => row.querySelector(`input[name=${name}]`).value.trim();
        return Object.assign({}, row.spec, {
          at: unit.toApi(get("milestone-at"), `milestone ${n + 1}`),
          label: get("milestone-label"),
          actions: withChat(row.spec.actions, get("milestone-chat")),
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
    units: units, editor: editor, exponentOf: exponentOf,
    withChat: withChat, chatText: chatText, alsoText: alsoText,
  };
})();
