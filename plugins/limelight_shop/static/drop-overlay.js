// The drop overlay. State "drop": {name, price ("$45.00", "from $25.00"), items: [{name,
// variant, price, image, left, stock}], left, stock, sold_out, ends_at, buyers: [names]};
// absent: nothing is shown.
// Every name is set with textContent; the image src comes from the server's catalog.
(function () {
  "use strict";
  var L = window.Limelight;
  var box = document.getElementById("shop-drop");
  var image = box.querySelector(".shop-drop-image");
  var fill = box.querySelector(".shop-drop-fill");
  var clock = box.querySelector(".shop-drop-clock");
  var endsAt = null;

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    if (!endsAt) { clock.textContent = ""; return; }
    var left = Math.max(0, Math.floor((endsAt - Date.now()) / 1000));
    var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    clock.textContent = (h ? h + ":" + two(m) : m) + ":" + two(s);
  }

  function render(drop) {
    box.hidden = !drop;
    if (!drop) { endsAt = null; return; }
    var items = Array.isArray(drop.items) ? drop.items : [];
    var first = items[0] || {};
    var left = Number(drop.left) || 0;
    var stock = Number(drop.stock) || 0;
    box.querySelector(".shop-drop-name").textContent = String(items.length > 1 && drop.name ? drop.name : (first.name || drop.name || ""));
    box.querySelector(".shop-drop-price").textContent = String(drop.price || first.price || "");
    var src = String(first.image || "");
    image.hidden = !/^(\/|https?:\/\/)/.test(src);
    if (!image.hidden && image.getAttribute("src") !== src) image.setAttribute("src", src);
    fill.style.width = (stock > 0 ? Math.max(0, Math.min(100, (left / stock) * 100)) : 0).toFixed(1) + "%";
    box.querySelector(".shop-drop-left").textContent = drop.sold_out ? "" : left + " of " + stock + " left";
    var buyers = Array.isArray(drop.buyers) ? drop.buyers.map(String) : [];
    box.querySelector(".shop-drop-buyers").textContent = buyers.length ? "Latest: " + buyers.join(", ") : "";
    box.classList.toggle("sold-out", !!drop.sold_out);
    box.querySelector(".shop-drop-soldout").hidden = !drop.sold_out;
    endsAt = drop.ends_at ? Date.parse(drop.ends_at) : null;
    tick();
  }

  setInterval(tick, 1000);
  L.onState(function (key, data, state) { render(state.drop || null); });
  render(L.state.drop || null);
})();
