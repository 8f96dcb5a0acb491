// Leaderboard: one board per state key ({"title", "entries": [{"name", "value"}]}).
(function () {
  "use strict";
  var L = window.Limelight;
  var holder = document.getElementById("boards");
  var empty = document.getElementById("leaderboard-empty");
  var only = document.body.getAttribute("data-board");
  var limit = parseInt(document.body.getAttribute("data-limit") || "", 10);
  if (!(limit > 0 && limit <= 50)) limit = 5;

  function render(state) {
    holder.replaceChildren();
    // Boards in their "order", else this stream, this month, all time, then by key.
    var usual = ["stream", "month", "all_time"];
    function rank(key) {
      var board = state[key] || {};
      if (typeof board.order === "number") return board.order;
      var i = usual.indexOf(key);
      return i >= 0 ? i : usual.length;
    }
    var keys = Object.keys(state).sort(function (a, b) {
      var ra = rank(a), rb = rank(b);
      return ra !== rb ? ra - rb : (a < b ? -1 : a > b ? 1 : 0);
    });
    if (only) keys = keys.filter(function (k) { return k === only; });
    var shownAny = false;
    keys.forEach(function (key) {
      var board = state[key] || {};
      var entries = Array.isArray(board.entries) ? board.entries.slice(0, limit) : [];
      var section = document.createElement("section");
      section.className = "board";
      section.setAttribute("data-board", key);
      var h = document.createElement("h1");
      h.textContent = String(board.title || key);
      section.appendChild(h);
      var ol = document.createElement("ol");
      entries.forEach(function (e) {
        var li = document.createElement("li");
        var rank = document.createElement("span");
        rank.className = "rank";
        rank.textContent = String(ol.children.length + 1);
        li.appendChild(rank);
        var name = document.createElement("span");
        name.className = "name";
        name.textContent = String(e && e.name !== undefined ? e.name : "");
        var value = document.createElement("span");
        value.className = "value";
        value.textContent = String(e && e.value !== undefined ? e.value : "");
        li.appendChild(name);
        li.appendChild(value);
        ol.appendChild(li);
      });
      if (!entries.length) {
        // An empty board is a placeholder: on stream it is left out altogether.
        if (!L.preview) return;
        var none = document.createElement("p");
        none.className = "board-empty";
        none.textContent = String(board.empty || "No supporters yet.");
        section.appendChild(none);
      } else {
        shownAny = true;
      }
      section.appendChild(ol);
      holder.appendChild(section);
    });
    holder.setAttribute("data-count", String(holder.children.length));
    empty.hidden = shownAny || holder.children.length > 0;
  }

  L.onState(function (key, data, state) { render(state); });
  render(L.state);
})();
