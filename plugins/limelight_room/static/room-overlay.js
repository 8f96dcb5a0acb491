// The members' room on stream: the newest lines with badges and emotes. Each line leaves
// after the seconds the server gives (ttl), so a quiet room leaves the overlay empty.
// Text goes in with textContent; an emote or badge image only from a server path.
(function () {
  "use strict";
  var L = window.Limelight;
  var list = document.getElementById("room-overlay-lines");
  var MAX = 6;

  function isServerPath(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/";
  }

  function image(cls, url, alt) {
    var img = document.createElement("img");
    img.className = cls;
    img.src = url;
    img.alt = String(alt || "");
    return img;
  }

  function fit() {
    // Drop the oldest lines while the list is taller than the page (long messages).
    while (list.children.length > 1 && list.scrollHeight > window.innerHeight) {
      list.removeChild(list.firstElementChild);
    }
  }

  L.onLive("room.line", function (line) {
    if (!line || typeof line.id !== "string") return;
    var li = document.createElement("li");
    li.className = "room-overlay-line" + (line.bot ? " bot" : "");
    li.setAttribute("data-id", line.id);
    var badges = document.createElement("span");
    badges.className = "badges";
    (Array.isArray(line.badges) ? line.badges : []).forEach(function (b) {
      if (b && isServerPath(b.icon)) badges.appendChild(image("badge", b.icon, b.label));
    });
    var name = document.createElement("span");
    name.className = "name";
    name.textContent = String(line.name || "");
    var text = document.createElement("span");
    text.className = "text";
    (Array.isArray(line.fragments) ? line.fragments : []).forEach(function (part) {
      if (part && typeof part.emote === "string" && isServerPath(part.url)) {
        text.appendChild(image("emote", part.url, part.emote));
      } else if (part && typeof part.text === "string") {
        text.appendChild(document.createTextNode(part.text));
      }
    });
    li.appendChild(badges);
    li.appendChild(name);
    li.appendChild(text);
    list.appendChild(li);
    var max = typeof line.max === "number" && line.max > 0 ? line.max : MAX;
    while (list.children.length > max) list.removeChild(list.firstElementChild);
    fit();
    var ttl = typeof line.ttl === "number" ? line.ttl : 60;
    if (ttl > 0) {
      window.setTimeout(function () {
        if (li.parentNode === list) list.removeChild(li);
      }, ttl * 1000);
    }
  });

  L.onLive("room.deleted", function (data) {
    (data && Array.isArray(data.ids) ? data.ids : []).forEach(function (id) {
      Array.prototype.slice.call(list.children).forEach(function (li) {
        if (li.getAttribute("data-id") === String(id)) list.removeChild(li);
      });
    });
  });
})();
