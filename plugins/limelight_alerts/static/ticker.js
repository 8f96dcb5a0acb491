// Ticker: a countdown and stock line for merch drops. State: {"title", "text",
// "ends_at" (ISO time), "stock", "total"}.
(function () {
  "use strict";
  var L = window.Limelight;
  var box = document.getElementById("ticker");
  var empty = document.getElementById("ticker-empty");
  var only = document.body.getAttribute("data-ticker");
  var current = null;

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function countdown(endsAt) {
    var end = Date.parse(endsAt);
    if (isNaN(end)) return "";
    var left = Math.max(0, Math.round((end - Date.now()) / 1000));
    if (left === 0) return "Ended";
    var d = Math.floor(left / 86400);
    var h = Math.floor((left % 86400) / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    if (d) return d + "d " + two(h) + ":" + two(m) + ":" + two(s);
    return (h ? h + ":" + two(m) : String(m)) + ":" + two(s);
  }

  function tick() {
    if (!current) return;
    box.querySelector(".ticker-countdown").textContent =
      current.ends_at ? countdown(current.ends_at) : "";
  }

  function render(state) {
    var keys = Object.keys(state).sort();
    var key = only ? (only in state ? only : null) : keys[0];
    current = key ? state[key] : null;
    box.hidden = !current;
    empty.hidden = !!current;
    if (!current) return;
    box.querySelector(".ticker-title").textContent = String(current.title || "");
    box.querySelector(".ticker-text").textContent = String(current.text || "");
    var stock = "";
    if (typeof current.stock === "number") {
      stock = current.stock > 0
        ? current.stock + (typeof current.total === "number" ? " / " + current.total : "") + " left"
        : "Sold out";
    }
    box.querySelector(".ticker-stock").textContent = stock;
    box.classList.toggle("sold-out", current.stock === 0);
    tick();
  }

  L.onState(function (key, data, state) { render(state); });
  render(L.state);
  window.setInterval(tick, 1000);
})();
