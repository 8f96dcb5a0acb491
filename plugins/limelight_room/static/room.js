// The members' room page: live chat over a WebSocket, tabs for chat and posts.
//
// Everything a member typed arrives as data and goes into the page with textContent; an
// emote is an <img> whose src the server chose (a /-/ path, never a viewer's text). A
// moderator's page shows delete and time-out buttons on each line. When the server
// closes the connection because the membership ended or the link was revoked (code 4403),
// the page says so and stops; any other drop reconnects with a jittered backoff.
(function () {
  "use strict";

  var body = document.body;
  var wsPath = body.getAttribute("data-ws") || "";
  var list = document.getElementById("room-lines");
  var statusLine = document.getElementById("room-status");
  var noticeLine = document.getElementById("room-notice");
  var form = document.getElementById("room-form");
  var input = document.getElementById("room-input");
  var send = document.getElementById("room-send");
  var KEEP = 200;
  var CLOSE_ENDED = 4403;
  var socket = null;
  var moderator = false;
  var ended = false;
  var backoff = 1000;
  var noticeTimer = null;

  // -- tabs ---------------------------------------------------------------------------------

  var tabs = Array.prototype.slice.call(document.querySelectorAll('[role="tab"]'));
  tabs.forEach(function (tab) {
    tab.addEventListener("click", function () {
      tabs.forEach(function (other) {
        var on = other === tab;
        other.setAttribute("aria-selected", on ? "true" : "false");
        document.getElementById(other.getAttribute("aria-controls")).hidden = !on;
      });
    });
  });

  // -- rendering ----------------------------------------------------------------------------

  function isServerPath(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/";
  }

  function badge(b) {
    var icon = typeof b.icon === "string" ? b.icon : "";
    if (isServerPath(icon)) {
      var img = document.createElement("img");
      img.className = "badge";
      img.src = icon;
      img.alt = String(b.label || b.name || "");
      img.title = String(b.label || "");
      return img;
    }
    var span = document.createElement("span");
    span.className = "badge";
    span.textContent = icon || String(b.label || b.name || "");
    span.title = String(b.label || "");
    return span;
  }

  function fragments(parts) {
    var out = document.createElement("span");
    out.className = "text";
    (Array.isArray(parts) ? parts : []).forEach(function (part) {
      if (part && typeof part.emote === "string" && isServerPath(part.url)) {
        var img = document.createElement("img");
        img.className = "emote";
        img.src = part.url;
        img.alt = part.emote;
        img.title = part.emote;
        out.appendChild(img);
      } else if (part && typeof part.text === "string") {
        out.appendChild(document.createTextNode(part.text));
      }
    });
    return out;
  }

  function modButton(label, title, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "mod";
    b.textContent = label;
    b.title = title;
    b.addEventListener("click", onClick);
    return b;
  }

  function addLine(line) {
    if (!line || typeof line.id !== "string") return;
    if (list.querySelector('[data-id="' + CSS.escape(line.id) + '"]')) return;
    var li = document.createElement("li");
    li.className = "room-line" + (line.bot ? " bot" : "") + (line.moderator ? " is-mod" : "");
    li.setAttribute("data-id", line.id);
    li.setAttribute("data-viewer", String(line.viewer || ""));
    var badges = document.createElement("span");
    badges.className = "badges";
    (Array.isArray(line.badges) ? line.badges : []).forEach(function (b) { badges.appendChild(badge(b)); });
    var name = document.createElement("span");
    name.className = "name";
    name.textContent = String(line.name || "");
    li.appendChild(badges);
    li.appendChild(name);
    li.appendChild(fragments(line.fragments));
    if (moderator) {
      var tools = document.createElement("span");
      tools.className = "tools";
      tools.appendChild(modButton("Delete", "Delete this message", function () {
        sendJson({ type: "delete", id: line.id });
      }));
      if (line.viewer) {
        tools.appendChild(modButton("Time out", "Time this member out of the room", function () {
          sendJson({ type: "timeout", viewer: line.viewer });
        }));
      }
      li.appendChild(tools);
    }
    var atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    list.appendChild(li);
    while (list.children.length > KEEP) list.removeChild(list.firstElementChild);
    if (atBottom) li.scrollIntoView({ block: "end" });
  }

  function removeLines(ids) {
    (Array.isArray(ids) ? ids : []).forEach(function (id) {
      var li = list.querySelector('[data-id="' + CSS.escape(String(id)) + '"]');
      if (li) list.removeChild(li);
    });
  }

  function notice(text) {
    noticeLine.textContent = String(text || "");
    noticeLine.hidden = !text;
    if (noticeTimer) window.clearTimeout(noticeTimer);
    if (text) noticeTimer = window.setTimeout(function () { noticeLine.hidden = true; }, 8000);
  }

  function setStatus(text, state) {
    statusLine.textContent = text;
    statusLine.setAttribute("data-state", state);
  }

  function setTyping(on) {
    input.disabled = !on;
    send.disabled = !on;
  }

  // -- the connection ---------------------------------------------------------------------

  function sendJson(data) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(data));
  }

  function onMessage(event) {
    var data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    if (!data || typeof data !== "object") return;
    if (data.type === "hello") {
      moderator = !!data.moderator;
      body.classList.toggle("is-moderator", moderator);
      while (list.firstChild) list.removeChild(list.firstChild);
      (Array.isArray(data.history) ? data.history : []).forEach(addLine);
      setStatus(data.history && data.history.length ? "" : "No messages yet. Say hi!", "online");
      setTyping(true);
      if (data.muted_until) notice("You are timed out of the room for now.");
      backoff = 1000;
    } else if (data.type === "line") {
      if (statusLine.getAttribute("data-state") === "online") setStatus("", "online");
      addLine(data.line);
    } else if (data.type === "deleted") {
      removeLines(data.ids);
    } else if (data.type === "notice" || data.type === "timeout") {
      notice(data.text);
    }
  }

  function end(reason) {
    ended = true;
    setTyping(false);
    body.classList.add("room-ended");
    setStatus(reason || "The members' room is closed for you.", "ended");
    statusLine.setAttribute("role", "alert");
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + wsPath);
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", function (event) {
      setTyping(false);
      if (event.code === CLOSE_ENDED) { end(event.reason); return; }
      if (ended) return;
      setStatus("Reconnecting…", "connecting");
      var wait = backoff * (0.75 + Math.random() * 0.5);
      backoff = Math.min(backoff * 2, 30000);
      window.setTimeout(check, wait);
    });
  }

  // Before reconnecting, ask whether the link still opens the room: a membership that
  // ended while the phone was asleep gets the plain explanation, not endless retries.
  function check() {
    fetch(window.location.pathname, { method: "GET", credentials: "omit", cache: "no-store" })
      .then(function (response) {
        if (response.status === 403) end("The members' room is closed for this link.");
        else connect();
      })
      .catch(function () { connect(); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    sendJson({ type: "say", text: text });
    input.value = "";
    input.focus();
  });

  connect();
})();
