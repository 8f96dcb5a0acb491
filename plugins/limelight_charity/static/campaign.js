// The campaign overlay. State per campaign: {title, cause, current, target, raised, goal,
// percent, converted, left, ends_at, running, milestones: [{at, label, state}],
// recent: [{name, amount}]}. Every text goes in with textContent, never as HTML.
(function () {
  "use strict";
  var L = window.Limelight;
  var pick = window.LimelightCharity.pick;
  var box = document.getElementById("charity");
  var fill = box.querySelector(".charity-fill");
  var marks = box.querySelector(".charity-marks");
  var recent = box.querySelector(".charity-recent");
  var current = null;

  function pct(value, target) {
    if (!(target > 0) || !(value >= 0)) return 0;
    return Math.max(0, Math.min(100, (value / target) * 100));
  }

  // "3 days 4 h", "9 h 59 min", "2 hours", "45 minutes": as the server's
  // limelight.text.duration says it (two largest units, to the nearest minute), counted
  // down here between the server's updates.
  function span(ms) {
    var minutes = Math.max(1, Math.round(ms / 60000));
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    function count(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
    if (days) return count(days, "day") + (hours ? " " + hours + " h" : "");
    if (hours) return mins ? hours + " h " + mins + " min" : count(hours, "hour");
    return count(mins, "minute");
  }

  function timeLeft(c) {
    var end = Date.parse(c.ends_at);
    var start = Date.parse(c.starts_at);
    var now = Date.now();
    if (isNaN(end)) return String(c.left || "");
    if (now >= end) return "ended";
    return now < start ? "starts in " + span(start - now) : span(end - now) + " left";
  }

  function render(state) {
    var c = pick(state);
    current = c;
    box.hidden = !c;
    if (!c) return;
    var value = Number(c.current) || 0;
    var target = Number(c.target) || 0;
    box.querySelector(".charity-title").textContent = String(c.title || "");
    box.querySelector(".charity-cause").textContent = String(c.cause || "");
    box.querySelector(".charity-left").textContent = timeLeft(c);
    box.querySelector(".charity-raised").textContent =
      String(c.raised || "") + " / " + String(c.goal || "") + " (" + (Number(c.percent) || 0) + "%)";
    box.querySelector(".charity-converted").hidden = !c.converted;
    fill.style.width = pct(value, target).toFixed(2) + "%";
    box.classList.toggle("reached", target > 0 && value >= target);
    marks.replaceChildren();
    (Array.isArray(c.milestones) ? c.milestones : []).forEach(function (m) {
      var li = document.createElement("li");
      var at = Number(m && m.at) || 0;
      // reached: the total is there; fired: it fired, then a refund dropped the total
      // below it (it will not fire again); ahead: not yet.
      var state = m && (m.state === "reached" || m.state === "fired") ? m.state : "ahead";
      li.className = "charity-mark " + state;
      li.setAttribute("data-at", String(at));
      li.style.left = pct(at, target).toFixed(2) + "%";
      var label = document.createElement("span");
      label.textContent = String((m && m.label) || "");
      li.appendChild(label);
      marks.appendChild(li);
    });
    recent.replaceChildren();
    (Array.isArray(c.recent) ? c.recent : []).forEach(function (d) {
      var li = document.createElement("li");
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = String((d && d.name) || "");
      var amount = document.createElement("span");
      amount.className = "amount";
      amount.textContent = String((d && d.amount) || "");
      li.appendChild(name);
      li.appendChild(amount);
      recent.appendChild(li);
    });
    // Only whole chips on stream: drop the ones the row cannot hold.
    while (recent.lastChild && recent.lastChild.offsetLeft + recent.lastChild.offsetWidth >
           recent.clientWidth) {
      recent.removeChild(recent.lastChild);
    }
  }

  L.onState(function (key, data, state) { render(state); });
  render(L.state);
  window.setInterval(function () {
    if (current) box.querySelector(".charity-left").textContent = timeLeft(current);
  }, 30000);
})();
