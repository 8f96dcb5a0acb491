// Goal: a progress bar with milestones. State: {"title", "current", "target",
// "label", "milestones": [{"at", "label"}]} (numbers in one unit: cents, counts...).
(function () {
  "use strict";
  var L = window.Limelight;
  var box = document.getElementById("goal");
  var empty = document.getElementById("goal-empty");
  var only = document.body.getAttribute("data-goal");
  var fill = box.querySelector(".goal-fill");
  var marks = box.querySelector(".goal-milestones");

  function pct(value, target) {
    if (!(target > 0) || !(value >= 0)) return 0;
    return Math.max(0, Math.min(100, (value / target) * 100));
  }

  function render(state) {
    var keys = Object.keys(state).sort();
    var key = only ? (only in state ? only : null) : keys[0];
    var goal = key ? state[key] : null;
    box.hidden = !goal;
    empty.hidden = !!goal;
    if (!goal) return;
    var current = Number(goal.current) || 0;
    var target = Number(goal.target) || 0;
    box.querySelector(".goal-title").textContent = String(goal.title || key);
    box.querySelector(".goal-label").textContent = String(
      goal.label || (current + " / " + target + (goal.unit ? " " + goal.unit : "")));
    fill.style.width = pct(current, target).toFixed(2) + "%";
    box.classList.toggle("reached", target > 0 && current >= target);
    marks.replaceChildren();
    (Array.isArray(goal.milestones) ? goal.milestones : []).forEach(function (m) {
      var li = document.createElement("li");
      var at = Number(m && m.at) || 0;
      var where = pct(at, target);
      // Labels near either end are anchored inside the bar, not centred past its edge.
      li.className = "milestone" + (current >= at ? " reached" : "") +
        (where < 8 ? " edge-start" : (where > 92 ? " edge-end" : ""));
      li.style.left = where.toFixed(2) + "%";
      li.textContent = String((m && m.label) || "");
      marks.appendChild(li);
    });
  }

  L.onState(function (key, data, state) { render(state); });
  render(L.state);
})();
