// The donor wall. State per campaign: {title, running, donors: [{name, amount}]}.
// Names are viewer text: textContent only.
(function () {
  "use strict";
  var L = window.Limelight;
  var pick = window.LimelightCharity.pick;
  var box = document.getElementById("wall");
  var list = box.querySelector(".wall-donors");

  function render(state) {
    var c = pick(state);
    var donors = c && Array.isArray(c.donors) ? c.donors : [];
    box.hidden = !c || donors.length === 0;
    if (box.hidden) return;
    box.querySelector(".wall-title").textContent = String(c.title || "");
    list.replaceChildren();
    donors.forEach(function (d) {
      var li = document.createElement("li");
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = String((d && d.name) || "");
      var amount = document.createElement("span");
      amount.className = "amount";
      amount.textContent = String((d && d.amount) || "");
      li.appendChild(name);
      li.appendChild(amount);
      list.appendChild(li);
    });
    // Only whole rows on stream: drop the ones below the wall's bottom edge.
    var bottom = box.getBoundingClientRect().bottom - 10;
    while (list.lastChild && list.lastChild.getBoundingClientRect().bottom > bottom) {
      list.removeChild(list.lastChild);
    }
  }

  L.onState(function (key, data, state) { render(state); });
  render(L.state);
})();
