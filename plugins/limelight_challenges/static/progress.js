// The challenges overlay. State "progress": {"challenges": [{"id", "title", "progress",
// "percent", "completed", "left", "milestones": [{"label", "pos", "reached", "fired"}]}]}
// ("fired": it fired once, and a refund took the total back below it).
// Everything is text set with textContent; nothing is parsed as HTML.
(function () {
  "use strict";
  var L = window.Limelight;
  var box = document.getElementById("challenges");

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clamp(value) {
    var n = Number(value);
    if (!(n >= 0)) return 0;
    return Math.min(100, n);
  }

  function card(c) {
    var article = el("article", "challenge" + (c.completed ? " completed" : ""));
    var head = el("header", "challenge-head");
    head.appendChild(el("h2", "challenge-title", c.title || ""));
    var figure = el("span", "challenge-progress",
      (c.progress || "") + (c.left ? " · " + c.left : ""));
    figure.dataset.short = c.progress || "";
    head.appendChild(figure);
    article.appendChild(head);
    var bar = el("div", "challenge-bar");
    var fill = el("div", "challenge-fill");
    fill.style.width = clamp(c.percent).toFixed(2) + "%";
    bar.appendChild(fill);
    (Array.isArray(c.milestones) ? c.milestones : []).forEach(function (m) {
      var mark = el("div", "challenge-mark" + (m && m.reached ? " reached" : "") +
        (m && m.fired ? " fired" : ""));
      mark.style.left = clamp(m && m.pos).toFixed(2) + "%";
      mark.appendChild(el("span", "challenge-mark-label", (m && m.label) || ""));
      bar.appendChild(mark);
    });
    article.appendChild(bar);
    return article;
  }

  function cut(node) { return node.scrollWidth > node.clientWidth + 1; }

  // Where the figure and the time left do not fit beside the title, the time left gives
  // way: a cut figure ("6 / 10 memb…") or title says less on stream than no countdown.
  function fit(article) {
    var title = article.querySelector(".challenge-title");
    var figure = article.querySelector(".challenge-progress");
    if (figure.textContent !== figure.dataset.short && (cut(figure) || cut(title))) {
      figure.textContent = figure.dataset.short;
    }
  }

  function render(state) {
    var data = state && state.progress;
    var list = data && Array.isArray(data.challenges) ? data.challenges : [];
    box.replaceChildren();
    box.hidden = list.length === 0;
    list.slice(0, 3).forEach(function (c) {
      var article = card(c || {});
      box.appendChild(article);
      fit(article);
    });
  }

  L.onState(function (key, data, state) { render(state); });
  render(L.state);
})();
