// Chat box: lines that chat gating let through and the bot's own lines, with the
// platform's badges (pictures, or a short label when there is none), the badges plugins
// award, emotes as pictures and the viewers' colours. Deleted lines (one message, or every
// line of a timed-out viewer) disappear. Viewer text only ever goes in as text: the line's
// fragments through Limelight.renderFragments.
(function () {
  "use strict";
  var L = window.Limelight;
  var body = document.body;
  var section = document.querySelector(".chat");
  var list = document.getElementById("chat-lines");
  var empty = document.getElementById("chat-empty");
  var restricted = document.getElementById("chat-restricted");

  function option(name, fallback, lo, hi) {
    var value = parseInt(body.getAttribute("data-" + name) || "", 10);
    return value >= lo && value <= hi ? value : fallback;
  }
  var limit = option("limit", 20, 1, 100);
  var fadeAfter = option("fade", 0, 0, 3600);
  var hideCommands = body.getAttribute("data-hide_commands") === "1";
  var showBot = body.getAttribute("data-bot") !== "0";
  var COLOR = /^#[0-9a-fA-F]{3,8}$/;
  // Short labels for the platform's badges that have no picture.
  var SHORT = {
    broadcaster: "Streamer", moderator: "Mod", vip: "VIP", subscriber: "Sub",
    founder: "Founder", staff: "Staff", partner: "Partner", bot: "Bot",
  };

  function viewerKey(viewer) {
    return viewer ? viewer.platform + ":" + viewer.id : "";
  }

  function cssName(name) {
    return String(name || "").toLowerCase().replace(/[^a-z0-9_-]/g, "");
  }

  // A badge a plugin awards: {name, label, icon} (icon: a picture on this server or text).
  function pluginBadge(b) {
    var icon = typeof b.icon === "string" ? b.icon : "";
    if (L.imageUrl(icon)) {
      var img = document.createElement("img");
      img.className = "badge";
      img.src = icon;
      img.alt = b.label || b.name || "";
      img.title = b.label || "";
      return img;
    }
    var span = document.createElement("span");
    span.className = "badge badge-" + cssName(b.name);
    span.textContent = icon || b.label || b.name || "";
    span.title = b.label || "";
    if (typeof b.colour === "string" && COLOR.test(b.colour)) span.style.color = b.colour;
    return span;
  }

  // A badge of the platform: {name, version, label, image}.
  function platformBadge(b) {
    if (L.imageUrl(b.image)) {
      var img = document.createElement("img");
      img.className = "badge platform-badge";
      img.src = b.image;
      img.alt = b.label || b.name || "";
      img.title = b.label || "";
      img.addEventListener("error", function () { img.replaceWith(badgeLabel(b)); });
      return img;
    }
    return badgeLabel(b);
  }

  function badgeLabel(b) {
    var span = document.createElement("span");
    span.className = "badge badge-label badge-" + cssName(b.name);
    span.textContent = SHORT[b.name] || String(b.label || b.name || "");
    return span;
  }

  function has(id) {
    for (var i = 0; i < list.children.length; i++) {
      if (list.children[i].getAttribute("data-id") === id) return true;
    }
    return false;
  }

  function refreshEmpty() {
    if (empty) empty.hidden = list.children.length > 0;
  }

  // Lines beyond the limit go, then the oldest ones while the box is taller than the
  // page: no line is ever cut off at the top of the browser source.
  function trim() {
    while (list.children.length > limit) list.removeChild(list.firstElementChild);
    while (list.children.length > 1 && section.getBoundingClientRect().top < 0) {
      list.removeChild(list.firstElementChild);
    }
  }

  function fadeLater(li) {
    if (!fadeAfter) return;
    window.setTimeout(function () {
      li.classList.add("fading");
      window.setTimeout(function () {
        if (li.parentNode === list) list.removeChild(li);
        refreshEmpty();
      }, 700);
    }, fadeAfter * 1000);
  }

  L.onLive("chat.message", function (m) {
    if (m.bot && !showBot) return;
    if (hideCommands && m.command) return;
    if (m.id && has(String(m.id))) return; // the same line twice (a platform's echo)
    var li = document.createElement("li");
    li.className = "chat-line" + (m.first ? " first" : "") + (m.test ? " is-test" : "") +
      (m.bot ? " is-bot" : "") + (m.highlight ? " highlight" : "");
    li.setAttribute("data-id", String(m.id || ""));
    li.setAttribute("data-viewer", viewerKey(m.viewer));
    var badges = document.createElement("span");
    badges.className = "badges";
    (Array.isArray(m.platform_badges) ? m.platform_badges : []).forEach(function (b) {
      if (b && typeof b === "object") badges.appendChild(platformBadge(b));
    });
    (Array.isArray(m.badges) ? m.badges : []).forEach(function (b) {
      if (b && typeof b === "object") badges.appendChild(pluginBadge(b));
    });
    var name = document.createElement("span");
    name.className = "name";
    name.textContent = String(m.name || "");
    if (typeof m.color === "string" && COLOR.test(m.color)) name.style.color = m.color;
    var text = document.createElement("span");
    text.className = "text";
    L.renderFragments(text, m.fragments, String(m.text || ""));
    li.appendChild(badges);
    li.appendChild(name);
    li.appendChild(text);
    list.appendChild(li);
    trim();
    fadeLater(li);
    refreshEmpty();
  });

  L.onLive("chat.deleted", function (d) {
    var lines = Array.prototype.slice.call(list.children);
    lines.forEach(function (li) {
      if (d.message_id ? li.getAttribute("data-id") === String(d.message_id)
                       : (d.viewer && li.getAttribute("data-viewer") === viewerKey(d.viewer))) {
        list.removeChild(li);
      }
    });
    refreshEmpty();
  });

  // A plugin or connector sets state "mode": {"restricted": true, "label": "Subscribers only"}.
  L.onState(function (key, data) {
    if (key !== "mode" || !restricted) return;
    var on = !!(data && data.restricted);
    restricted.hidden = !on;
    restricted.textContent = on ? String(data.label || "Chat is restricted") : "";
    trim();
  });
  window.addEventListener("resize", trim);
  // Pictures (emotes, badges) that load after a line went in can make it taller.
  if (window.ResizeObserver) new ResizeObserver(trim).observe(list);
  refreshEmpty();
})();
