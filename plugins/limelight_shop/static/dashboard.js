// The shop dashboard. Every value from a viewer or provider goes in with textContent (never
// innerHTML); calls go through limelightApi/limelightFetch (the CSRF guard).
"use strict";

(function () {
  const api = window.limelightApi;
  const errorBox = document.getElementById("shop-error");

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }
  function button(label, onClick) {
    const b = el("button", label);
    b.type = "button";
    b.addEventListener("click", async function () {
      b.disabled = true;
      try { await onClick(); await load(); } catch (err) { showError(err); } finally { b.disabled = false; }
    });
    return b;
  }
  // A form's error shows under that form (the page is long); the rest at the page's end.
  function showError(err, box) {
    box = box || errorBox;
    box.hidden = false;
    box.textContent = err.message || String(err);
  }
  function when(iso) { return iso ? new Date(iso).toLocaleString() : "—"; }
  function row(cells) {
    const tr = el("tr");
    cells.forEach(function (c) { const td = el("td"); if (c instanceof Node) td.append(c); else td.textContent = c == null ? "" : String(c); tr.append(td); });
    return tr;
  }
  // A unit as buyers call it: "Logo hoodie (M)" (item_label on the server).
  function label(name, variant) { return name + (variant ? " (" + variant + ")" : ""); }
  function csv(text) { return String(text || "").split(",").map(function (s) { return s.trim(); }).filter(Boolean); }

  async function loadProducts() {
    const body = await api("/api/shop/products");
    const tbody = document.getElementById("shop-products");
    tbody.replaceChildren();
    body.products.forEach(function (p) {
      const img = el("img");
      img.alt = "";
      img.width = 48;
      if (/^(\/|https?:\/\/)/.test(p.image)) img.src = p.image;
      const input = el("input");
      input.type = "file";
      input.accept = "image/png,image/jpeg,image/gif,image/webp";
      input.addEventListener("change", async function () {
        if (!input.files.length) return;
        const form = new FormData();
        form.append("image", input.files[0]);
        try {
          const response = await window.limelightFetch("/p/shop/products/" + p.id + "/image", { method: "POST", body: form });
          const answer = await response.json().catch(function () { return {}; });
          if (!response.ok) throw new Error(answer.error || response.statusText);
          await load();
        } catch (err) { showError(err); }
      });
      tbody.append(row([img, p.sku, p.name, p.display, p.variants.join(", "), p.kind, input]));
    });
    stockRows(body.products);
  }

  // The new drop's stock: a row per product and size of the catalog with the units to sell.
  // Drawn again only when the catalog changes (the page reloads its data every few
  // seconds), so what the streamer typed stays.
  let stockShape = "";
  function stockRows(products) {
    const shape = JSON.stringify(products.map(function (p) { return [p.sku, p.name, p.variants]; }));
    if (shape === stockShape) return;
    stockShape = shape;
    const tbody = document.getElementById("shop-stock-rows");
    const typed = {};
    tbody.querySelectorAll("input").forEach(function (input) { typed[input.name] = input.value; });
    tbody.replaceChildren();
    products.forEach(function (p) {
      (p.variants.length ? p.variants : [""]).forEach(function (variant) {
        const input = el("input");
        input.type = "number";
        input.min = "0";
        input.size = 5;
        input.name = "stock:" + p.sku + ":" + variant;
        input.dataset.sku = p.sku;
        input.dataset.variant = variant;
        input.value = typed[input.name] || "";
        input.setAttribute("aria-label", "Units of " + label(p.name, variant));
        const name = el("span", label(p.name, variant));
        name.append(el("span", " " + p.sku, "muted"));
        tbody.append(row([name, input]));
      });
    });
  }

  async function loadDrops() {
    const body = await api("/api/shop/drops");
    const box = document.getElementById("shop-drops");
    box.replaceChildren();
    body.drops.forEach(function (d) {
      const section = el("div", null, "shop-drop-admin");
      section.append(el("h3", d.name + " — " + d.status + " — " + d.sold + " sold"));
      // what is set, in words ("starts ..., no end time: end it here, 1 per viewer")
      const terms = [];
      if (d.starts_at) terms.push("starts " + when(d.starts_at));
      terms.push(d.ends_at ? "ends " + when(d.ends_at) : "no end time (End closes it)");
      if (d.live_only) terms.push("only while live");
      terms.push(d.per_viewer_limit + " per viewer");
      if (d.members_first_minutes) terms.push("members first for " + d.members_first_minutes + " min");
      const summary = terms.join(", ");
      section.append(el("p", summary.charAt(0).toUpperCase() + summary.slice(1) + "."));
      const list = el("ul");
      d.items.forEach(function (i) {
        const item = el("li", label(i.name || i.sku, i.variant) + ": " +
          (i.left > 0 ? i.left + " of " + i.stock + " left" : "sold out (" + i.stock + ")"));
        item.append(el("span", " " + i.sku, "muted"));
        list.append(item);
      });
      section.append(list);
      if (d.status !== "open" && d.status !== "ended") section.append(button("Open now", function () { return api("/api/shop/drops/" + d.id + "/open", { method: "POST", body: "{}" }); }));
      if (d.status !== "ended") section.append(button("End", function () { return api("/api/shop/drops/" + d.id + "/end", { method: "POST", body: "{}" }); }));
      const chart = el("img", null, "shop-chart");
      chart.alt = "Sales of " + d.name;
      chart.src = "/api/shop/drops/" + d.id + "/chart.svg?t=" + Date.now();
      section.append(chart);
      box.append(section);
    });
  }

  async function loadGuests() {
    const body = await api("/api/shop/guests");
    const list = document.getElementById("shop-guests");
    list.replaceChildren();
    const queued = body.guests.filter(function (g) { return g.status === "queued"; }).map(function (g) { return g.id; });
    body.guests.forEach(function (g) {
      const li = el("li", g.name + (g.member ? " ★" : "") + (g.status === "live" ? " (on stream)" : ""));
      const at = queued.indexOf(g.id);
      if (at > 0) li.append(button("↑", function () {
        const order = queued.slice(); order.splice(at, 1); order.splice(at - 1, 0, g.id);
        return api("/api/shop/guests/order", { method: "POST", body: JSON.stringify({ ids: order }) });
      }));
      li.append(button("Skip (no-show)", function () { return api("/api/shop/guests/" + g.id + "/skip", { method: "POST", body: "{}" }); }));
      list.append(li);
    });
  }

  async function loadReservations() {
    const body = await api("/api/shop/reservations?status=held");
    const tbody = document.getElementById("shop-reservations");
    tbody.replaceChildren();
    body.reservations.forEach(function (r) {
      tbody.append(row([r.code, r.viewer, r.sku + (r.variant ? " " + r.variant : ""), r.status, when(r.expires_at),
        button("Cancel", function () { return api("/api/shop/reservations/" + r.id + "/cancel", { method: "POST", body: "{}" }); })]));
    });
  }

  function itemOf(o) { return label(o.item, o.variant) + (o.quantity > 1 ? " ×" + o.quantity : ""); }

  async function loadOrders() {
    const body = await api("/api/shop/orders");
    const tbody = document.getElementById("shop-orders");
    tbody.replaceChildren();
    body.orders.forEach(function (o) {
      const paid = o.display + (o.refunded_display ? " (" + o.refunded_display + " refunded)" : "");
      tbody.append(row([when(o.created_at), o.buyer, itemOf(o), o.gift ? "to chat" : "", paid, o.provider, o.status]));
    });
  }

  // The refunds to do: a red card with the count while any wait, every one of them listed
  // (not only those among the latest orders), each with the button that settles it.
  async function loadRefunds() {
    const body = await api("/api/shop/orders?status=refund_due");
    const due = document.getElementById("shop-due");
    const count = body.refund_due;
    due.replaceChildren();
    body.orders.forEach(function (o) {
      due.append(row([when(o.created_at), o.buyer, itemOf(o), o.display, o.provider, o.note,
        button("Refunded", function () { return api("/api/shop/orders/" + o.id + "/refunded", { method: "POST", body: "{}" }); })]));
    });
    document.getElementById("shop-refunds").classList.toggle("warning", count > 0);
    document.getElementById("shop-due-title").textContent = count > 0
      ? "Refund needed: " + count + (count === 1 ? " order" : " orders") : "Refunds to handle";
    document.getElementById("shop-due-none").hidden = count > 0;
    document.getElementById("shop-due-table").hidden = count === 0;
  }

  async function load() {
    try {
      await Promise.all([loadProducts(), loadDrops(), loadGuests(), loadReservations(), loadOrders(), loadRefunds()]);
    } catch (err) { showError(err); }
  }

  document.getElementById("shop-product-form").addEventListener("submit", async function (e) {
    e.preventDefault();
    const f = new FormData(e.target);
    try {
      await api("/api/shop/products", { method: "POST", body: JSON.stringify({
        sku: f.get("sku"), name: f.get("name"), price: f.get("price"), currency: f.get("currency"),
        variants: csv(f.get("variants")), kind: f.get("kind"), url: f.get("url"), kofi_code: f.get("kofi_code") }) });
      e.target.reset();
      document.getElementById("shop-product-error").hidden = true;
      await load();
    } catch (err) { showError(err, document.getElementById("shop-product-error")); }
  });

  document.getElementById("shop-drop-form").addEventListener("submit", async function (e) {
    e.preventDefault();
    const f = new FormData(e.target);
    const items = [];
    e.target.querySelectorAll("#shop-stock-rows input").forEach(function (input) {
      const stock = parseInt(input.value, 10);
      if (stock > 0) items.push({ sku: input.dataset.sku, variant: input.dataset.variant, stock: stock });
    });
    function iso(v) { return v ? new Date(v).toISOString() : null; }
    try {
      if (!items.length) throw new Error("Give at least one product a number of units to sell in this drop.");
      await api("/api/shop/drops", { method: "POST", body: JSON.stringify({
        name: f.get("name"), starts_at: iso(f.get("starts_at")), ends_at: iso(f.get("ends_at")),
        live_only: f.get("live_only") === "on", per_viewer_limit: parseInt(f.get("per_viewer_limit"), 10) || 1,
        members_first_minutes: parseInt(f.get("members_first_minutes"), 10) || 0,
        free_tiers: f.getAll("free_tiers"), members_first_queue: f.get("members_first_queue") === "on", items: items }) });
      e.target.reset();
      document.getElementById("shop-drop-error").hidden = true;
      await load();
    } catch (err) { showError(err, document.getElementById("shop-drop-error")); }
  });

  document.getElementById("shop-next").addEventListener("click", async function () {
    try { await api("/api/shop/guests/next", { method: "POST", body: "{}" }); await load(); } catch (err) { showError(err); }
  });

  load();
  setInterval(load, 5000);
})();
