// The public drop page: live stock from /p/shop/drop.json (polled), claim buttons when the
// page was opened from a personal !merch link. Everything from the server goes in with
// textContent; image sources must be our own uploads or http(s) URLs.
"use strict";

(function () {
  const root = document.getElementById("shop-page");
  const token = root.getAttribute("data-token") || "";
  const list = document.getElementById("shop-page-items");
  const closed = document.getElementById("shop-page-closed");
  const title = document.getElementById("shop-page-title");
  const result = document.getElementById("shop-page-result");

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  async function claim(item, button) {
    button.disabled = true;
    try {
      const response = await fetch("/p/shop/claim", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ token: token, sku: item.sku, variant: item.variant || "" }),
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok && body.ok) {
        if (body.pay_url) {
          result.replaceChildren(el("span", "Reserved for you: " + body.code));
          const link = el("a", "Pay now", "button");
          link.href = body.pay_url;
          result.append(link);
        } else {
          result.textContent = "You have it (" + body.code + ").";
        }
      } else {
        result.textContent = String(body.message || body.error || "Could not claim.");
      }
    } catch (err) {
      result.textContent = "Could not reach the server; try again.";
    } finally {
      button.disabled = false;
      load();
    }
  }

  function render(drop) {
    closed.hidden = !!drop;
    list.replaceChildren();
    if (!drop) { title.textContent = "Drop"; return; }
    title.textContent = String(drop.name || "Drop");
    (drop.items || []).forEach(function (item) {
      const li = el("li", null, "shop-page-item" + (item.left <= 0 ? " sold-out" : ""));
      const src = String(item.image || "");
      if (/^(\/|https?:\/\/)/.test(src)) {
        const img = el("img");
        img.alt = "";
        img.src = src;
        li.append(img);
      }
      li.append(el("h3", item.name + (item.variant ? " (" + item.variant + ")" : "")));
      li.append(el("p", item.price, "shop-page-price"));
      const bar = el("div", null, "shop-page-bar");
      const fill = el("div");
      fill.style.width = (item.stock > 0 ? (100 * item.left) / item.stock : 0).toFixed(1) + "%";
      bar.append(fill);
      li.append(bar);
      li.append(el("p", item.left > 0 ? item.left + " of " + item.stock + " left" : "Sold out", "shop-page-left"));
      if (token && item.left > 0) {
        const button = el("button", "Claim");
        button.type = "button";
        button.addEventListener("click", function () { claim(item, button); });
        li.append(button);
      }
      list.append(li);
    });
  }

  async function load() {
    try {
      const response = await fetch("/p/shop/drop.json", { cache: "no-store" });
      if (response.ok) render((await response.json()).drop);
    } catch (err) { /* next poll */ }
  }

  load();
  setInterval(load, 2000);
})();
