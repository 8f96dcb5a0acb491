// Members wall: the "members" state ({"members": [{name, tier, colour, badge}], "count"}),
// newest first. Names are viewer text: textContent only. Nothing shows without members.
(function () {
  "use strict";
  var L = window.Limelight;
  var wall = document.getElementById("wall");
  var title = document.getElementById("wall-title");
  var list = document.getElementById("wall-list");
  var limit = parseInt(document.body.getAttribute("data-limit") || "", 10);
  if (!(limit > 0 && limit <= 50)) limit = 12;
  var COLOR = /^#[0-9a-fA-F]{6}$/;

  function render(data) {
    var members = data && Array.isArray(data.members) ? data.members.slice(0, limit) : [];
    list.replaceChildren();
    members.forEach(function (m) {
      var li = document.createElement("li");
      li.className = "wall-member";
      var badge = document.createElement("span");
      badge.className = "wall-badge";
      var icon = typeof m.badge === "string" ? m.badge : "";
      if (icon.charAt(0) === "/" && icon.charAt(1) !== "/") {
        var img = document.createElement("img");
        img.src = icon;
        img.alt = "";
        badge.appendChild(img);
      } else {
        badge.textContent = icon;
      }
      var name = document.createElement("span");
      name.className = "wall-name";
      name.textContent = String(m.name || "");
      var tier = document.createElement("span");
      tier.className = "wall-tier";
      tier.textContent = String(m.tier || "");
      if (typeof m.colour === "string" && COLOR.test(m.colour)) {
        badge.style.color = m.colour;
        tier.style.color = m.colour;
      }
      li.appendChild(badge);
      li.appendChild(name);
      li.appendChild(tier);
      list.appendChild(li);
    });
    var count = data && typeof data.count === "number" ? data.count : members.length;
    title.textContent = count === 1 ? "1 member" : count + " members";
    wall.hidden = members.length === 0;
  }

  L.onState(function (key, data) {
    if (key === "members") render(data);
  });
})();
