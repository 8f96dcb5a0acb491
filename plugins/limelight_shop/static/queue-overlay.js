// The guest-queue overlay. State "queue": {live: {name, ends_at} | null, guests: [{name,
// member}]}. Nothing is shown when nobody is on or waiting. Names go in with textContent.
(function () {
  "use strict";
  var L = window.Limelight;
  var box = document.getElementById("shop-queue");
  var liveBox = box.querySelector(".shop-queue-live");
  var clock = box.querySelector(".shop-queue-clock");
  var list = box.querySelector(".shop-queue-list");
  var nextLabel = box.querySelector(".shop-queue-next-label");
  var endsAt = null;

  function two(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    if (!endsAt) { clock.textContent = ""; return; }
    var left = Math.max(0, Math.floor((endsAt - Date.now()) / 1000));
    clock.textContent = Math.floor(left / 60) + ":" + two(left % 60) + " left";
  }

  function render(queue) {
    var live = queue && queue.live;
    var guests = queue && Array.isArray(queue.guests) ? queue.guests : [];
    box.hidden = !live && !guests.length;
    liveBox.hidden = !live;
    box.querySelector(".shop-queue-now").textContent = live ? String(live.name || "") : "";
    endsAt = live && live.ends_at ? Date.parse(live.ends_at) : null;
    nextLabel.hidden = !guests.length;
    list.replaceChildren();
    guests.forEach(function (g) {
      var li = document.createElement("li");
      li.textContent = String((g && g.name) || "");
      if (g && g.member) li.className = "member";
      list.appendChild(li);
    });
    tick();
  }

  setInterval(tick, 1000);
  L.onState(function (key, data, state) { render(state.queue || null); });
  render(L.state.queue || null);
})();
