// Chat box: lines that chat gating let through, with the badges plugins award. Deleted
// lines (one message, or every line of a timed-out viewer) disappear. Text only.
(function () {
  "use strict";
  var L = window.Limelight;
  var list = document.getElementById("chat-lines");
  var empty = document.getElementById("chat-empty");
  var restricted = document.getElementById("chat-restricted");
  var limit = parseInt(document.body.getAttribute("data-limit") || "", 10);
  if (!(limit > 0 && limit <= 200)) limit = 30;
  var COLOR = /^#[0-9a-fA-F]{3,8}$/;

  function viewerKey(viewer) {
    return viewer ? viewer.platform + ":" + viewer.id : "";
  }

  function badge(b) {
    var icon = typeof b.icon === "string" ? b.icon : "";
    if (icon.charAt(0) === "/" && icon.charAt(1) !== "/") {
      var img = document.createElement("img");
      img.className = "badge";
      img.src = icon;
      img.alt = b.label || b.name || "";
      img.title = b.label || "";
      return img;
    }
    var span = document.createElement("span");
    span.className = "badge badge-" + String(b.name || "").replace(/[^a-z0-9_-]/gi, "");
    span.textContent = icon || b.label || b.name || "";
    span.title = b.label || "";
    if (typeof b.colour === "string" && COLOR.test(b.colour)) span.style.color = b.colour;
    return span;
  }

  // The line as the server split it: text parts as text, emote parts as <img> (an emote's
  // URL is the server's, a path on this server; the viewer only typed its :code:).
  function fill(text, m) {
    var parts = Array.isArray(m.fragments) ? m.fragments : [{ text: String(m.text || "") }];
    parts.forEach(function (f) {
      var url = f && typeof f.url === "string" ? f.url : "";
      if (url && url.charAt(0) === "/" && url.charAt(1) !== "/") {
        var img = document.createElement("img");
        img.className = "emote";
        img.src = url;
        img.alt = String(f.emote || "");
        img.title = String(f.emote || "");
        text.appendChild(img);
      } else if (f) {
        text.appendChild(document.createTextNode(String(f.text != null ? f.text : f.emote || "")));
      }
    });
  }

  function refreshEmpty() {
    if (empty) empty.hidden = list.children.length > 0;
  }

  L.onLive("chat.message", function (m) {
    var li = document.createElement("li");
    li.className = "chat-line" + (m.first ? " first" : "") + (m.test ? " is-test" : "") +
      (m.highlight ? " highlight" : "");
    li.setAttribute("data-id", String(m.id || ""));
    li.setAttribute("data-viewer", viewerKey(m.viewer));
    var badges = document.createElement("span");
    badges.className = "badges";
    (m.badges || []).forEach(function (b) { badges.appendChild(badge(b)); });
    var name = document.createElement("span");
    name.className = "name";
    name.textContent = String(m.name || "");
    if (typeof m.color === "string" && COLOR.test(m.color)) name.style.color = m.color;
    var text = document.createElement("span");
    text.className = "text";
    fill(text, m);
    li.appendChild(badges);
    li.appendChild(name);
    li.appendChild(text);
    list.appendChild(li);
    while (list.children.length > limit) list.removeChild(list.firstElementChild);
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
  });
  refreshEmpty();
})();
