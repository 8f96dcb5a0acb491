// Limelight overlay runtime: the live connection of a browser source.
//
// Hand-written, no build step, for OBS 29's browser (Chromium 103): a classic script,
// no top-level await, no modules. It connects to /overlays/ws, reconnects with jittered
// backoff, resumes with since=<last alert shown> kept in localStorage (OBS reloads a source
// when its scene becomes active), drops alert ids it has already shown, plays alerts one at
// a time for their duration, acknowledges each when shown, and puts every text it receives
// into the page with textContent, never as HTML.
(function () {
  "use strict";

  var body = document.body;
  var overlay = body.getAttribute("data-overlay") || "";
  var params = new URLSearchParams(window.location.search);
  var token = params.get("token") || "";
  var KEY = "limelight:" + overlay + ":";
  var KEEP_SHOWN = 500;
  // ?preview=1: the dashboard's preview iframe. It shows placeholders and the connection
  // state, and it never acks nor keeps a resume point: a preview must not take an alert
  // from the browser source in OBS.
  var preview = body.getAttribute("data-preview") === "1";
  // Image origins besides this server that the page's policy admits (Twitch's CDN for
  // emotes, badges and cheermotes): [overlays] image_hosts.
  var imageHosts = (body.getAttribute("data-image-hosts") || "").split(" ").filter(Boolean);

  // The pause between two alerts: --ll-alert-gap from the theme ("400ms", "0.5s").
  function gapMs() {
    var raw = window.getComputedStyle(document.documentElement)
      .getPropertyValue("--ll-alert-gap").trim();
    var value = parseFloat(raw);
    if (isNaN(value)) return 400;
    return /ms$/.test(raw) ? value : (/s$/.test(raw) ? value * 1000 : value);
  }

  // -- persistent resume point --------------------------------------------------------------

  var memory = {};
  var store = preview ? {
    get: function (key) { return key in memory ? memory[key] : null; },
    set: function (key, value) { memory[key] = value; },
  } : {
    get: function (key) {
      try { return window.localStorage.getItem(KEY + key); } catch (e) { return null; }
    },
    set: function (key, value) {
      try { window.localStorage.setItem(KEY + key, value); } catch (e) { /* private mode */ }
    },
  };

  function readShown() {
    try {
      var list = JSON.parse(store.get("shown") || "[]");
      return Array.isArray(list) ? list.filter(function (x) { return typeof x === "number"; }) : [];
    } catch (e) {
      return [];
    }
  }

  var lastShown = parseInt(store.get("last") || "", 10);
  if (!(lastShown >= 0)) lastShown = null;
  var shownOrder = readShown();
  var shown = new Set(shownOrder);

  function remember(id) {
    if (shown.has(id)) return;
    shown.add(id);
    shownOrder.push(id);
    while (shownOrder.length > KEEP_SHOWN) shown.delete(shownOrder.shift());
    if (id > 0 && (lastShown === null || id > lastShown)) {
      lastShown = id;
      store.set("last", String(id));
    }
    store.set("shown", JSON.stringify(shownOrder));
  }

  function forgetTestIds() {
    // Test alerts live in the server's memory and their (negative) ids restart with it.
    shownOrder = shownOrder.filter(function (id) { return id > 0; });
    shown = new Set(shownOrder);
    store.set("shown", JSON.stringify(shownOrder));
  }

  // -- public hooks for the overlay's own script --------------------------------------------

  var liveHandlers = {};
  var stateHandlers = [];
  var statusHandlers = [];
  var renderer = null;

  var api = {
    overlay: overlay,
    preview: preview,
    /** Ids of the alerts this page showed, in order (tests and debugging read it). */
    shown: [],
    state: {},
    connected: false,
    paused: false,
    /** renderAlert(alert) shows one alert and returns a function that hides it. */
    setRenderer: function (fn) { renderer = fn; },
    onLive: function (kind, fn) { (liveHandlers[kind] = liveHandlers[kind] || []).push(fn); },
    onState: function (fn) {
      stateHandlers.push(fn);
      Object.keys(api.state).forEach(function (key) { safely(fn, key, api.state[key], api.state); });
    },
    onStatus: function (fn) { statusHandlers.push(fn); },
    queueLength: function () { return queue.length; },
    /** Is url a picture this page may show (this server, or an admitted image host)? */
    imageUrl: imageUrl,
    /** Put a line's fragments ([{text} | {emote, url}]) into parent: text as text, emotes
     *  as pictures from the server's URLs. The one renderer of chat text and emotes. */
    renderFragments: renderFragments,
    /** Show one alert now, outside the queue (no ack, not remembered): the dashboard's
     *  alert editor renders its unsaved design in a preview frame with it. Returns the
     *  function that hides it. */
    previewAlert: function (alert) { return (renderer || defaultRenderer)(alert); },
  };
  window.Limelight = api;

  function safely(fn) {
    var args = Array.prototype.slice.call(arguments, 1);
    try { fn.apply(null, args); } catch (err) { console.warn("limelight overlay:", err); }
  }

  // -- the alert queue ------------------------------------------------------------------------

  var queue = [];
  var current = null; // {alert, hide, timer}
  var gapTimer = null;

  function known(id) {
    if (shown.has(id)) return true;
    if (current && current.alert.id === id) return true;
    for (var i = 0; i < queue.length; i++) if (queue[i].id === id) return true;
    return false;
  }

  function enqueue(alert) {
    if (typeof alert.id !== "number" || known(alert.id)) return;
    queue.push(alert);
    pump();
  }

  function pump() {
    if (current || gapTimer || api.paused || !queue.length) return;
    var alert = queue.shift();
    var hide = null;
    remember(alert.id);
    api.shown.push(alert.id);
    ack(alert.id);
    try {
      hide = (renderer || defaultRenderer)(alert);
    } catch (err) {
      console.warn("limelight overlay: cannot show alert", alert.id, err);
    }
    var duration = Math.max(50, Math.min(120000, alert.duration_ms || 6000));
    current = { alert: alert, hide: hide, timer: window.setTimeout(finish, duration) };
    document.dispatchEvent(new CustomEvent("limelight:shown", { detail: { id: alert.id } }));
  }

  function finish() {
    if (!current) return;
    window.clearTimeout(current.timer);
    var hide = current.hide;
    current = null;
    if (typeof hide === "function") safely(hide);
    gapTimer = window.setTimeout(function () { gapTimer = null; pump(); }, gapMs());
  }

  function control(message) {
    var action = message.action;
    if (action === "pause") {
      api.paused = true;
    } else if (action === "resume") {
      api.paused = false;
      pump();
    } else if (action === "skip") {
      if (typeof message.id === "number") {
        if (current && current.alert.id === message.id) {
          finish();
        } else {
          queue = queue.filter(function (a) {
            if (a.id === message.id) { remember(a.id); return false; }
            return true;
          });
        }
      } else {
        finish();
      }
    } else if (action === "clear") {
      queue.forEach(function (a) { remember(a.id); });
      queue = [];
      finish();
    }
  }

  // -- the default alert renderer (#alert-stage in the base template) -----------------------

  function sameOrigin(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" &&
      url.charAt(1) !== "\\";
  }

  function imageUrl(url) {
    if (sameOrigin(url)) return true;
    if (typeof url !== "string") return false;
    for (var i = 0; i < imageHosts.length; i++) {
      if (url.indexOf(imageHosts[i] + "/") === 0) return true;
    }
    return false;
  }

  function renderFragments(parent, fragments, fallback) {
    parent.replaceChildren();
    if (!Array.isArray(fragments) || !fragments.length) {
      parent.textContent = typeof fallback === "string" ? fallback : "";
      return;
    }
    fragments.forEach(function (f) {
      if (!f || typeof f !== "object") return;
      if (typeof f.emote === "string" && imageUrl(f.url)) {
        var img = document.createElement("img");
        img.className = "emote";
        img.src = f.url;
        img.alt = f.emote;
        img.title = f.emote;
        // A picture that does not load shows its code as text instead.
        img.addEventListener("error", function () {
          img.replaceWith(document.createTextNode(f.emote));
        });
        parent.appendChild(img);
      } else if (typeof f.emote === "string") {
        parent.appendChild(document.createTextNode(f.emote));
      } else if (typeof f.text === "string") {
        parent.appendChild(document.createTextNode(f.text));
      }
    });
  }

  var VIDEO = /\.(webm|mp4)(\?|$)/i;
  var CONFETTI = ["#ffd54a", "#ff6b9a", "#7c6cff", "#4fc3f7", "#69f0ae", "#ffffff"];

  // Bigger amounts get a bigger alert (variation.size 1..4, see variations.size_of):
  // sizes 3 and 4 burst confetti from the card.
  function burst(stage, size) {
    var holder = stage.querySelector(".alert-burst");
    if (!holder) return;
    holder.replaceChildren();
    if (size < 3) return;
    var count = size >= 4 ? 36 : 18;
    for (var i = 0; i < count; i++) {
      var piece = document.createElement("span");
      piece.className = "confetti";
      var angle = (i / count) * 2 * Math.PI;
      var reach = 180 + (i % 4) * 60;
      piece.style.setProperty("--dx", Math.round(Math.cos(angle) * reach) + "px");
      piece.style.setProperty("--dy", Math.round(Math.sin(angle) * reach * 0.6) + "px");
      piece.style.setProperty("--spin", (i % 2 ? 1 : -1) * (180 + i * 20) + "deg");
      piece.style.background = CONFETTI[i % CONFETTI.length];
      piece.style.animationDelay = (i % 6) * 40 + "ms";
      holder.appendChild(piece);
    }
  }

  function defaultRenderer(alert) {
    var stage = document.getElementById("alert-stage");
    if (!stage) return null;
    var v = alert.variation || {};
    var data = alert.data || {};
    var title = stage.querySelector(".alert-title");
    var message = stage.querySelector(".alert-message");
    var image = stage.querySelector(".alert-image");
    var video = stage.querySelector(".alert-video");
    if (title) title.textContent = v.text || data.name || alert.kind;
    if (message) {
      renderFragments(message, data.message_fragments,
        typeof data.message === "string" ? data.message : "");
    }
    var picture = sameOrigin(v.image) ? v.image : "";
    var isVideo = VIDEO.test(picture);
    if (image) {
      if (picture && !isVideo) { image.src = picture; image.hidden = false; }
      else { image.removeAttribute("src"); image.hidden = true; }
    }
    var movie = sameOrigin(v.video) ? v.video : (picture && isVideo ? picture : "");
    if (movie && !video && image && image.parentNode) {
      video = document.createElement("video");
      video.className = "alert-video";
      video.setAttribute("playsinline", "");
      video.loop = true;
      image.parentNode.insertBefore(video, image);
    }
    if (video) {
      if (movie) {
        video.src = movie;
        video.hidden = false;
        video.volume = typeof v.volume === "number" ? Math.max(0, Math.min(1, v.volume)) : 1;
        var started = video.play();
        if (started && started.catch) {
          started.catch(function () { video.muted = true; video.play().catch(function () {}); });
        }
      } else {
        video.pause();
        video.removeAttribute("src");
        video.hidden = true;
      }
    }
    // The alert editor's in/out animation (overlay.css: .alert-stage[data-animation]).
    stage.setAttribute("data-animation", typeof v.animation === "string" ? v.animation : "");
    var size = Math.max(1, Math.min(4, parseInt(v.size, 10) || 1));
    stage.setAttribute("data-kind", alert.kind);
    stage.setAttribute("data-size", String(size));
    stage.setAttribute("data-alert-id", String(alert.id));
    stage.classList.toggle("is-test", !!alert.test);
    burst(stage, size);
    stage.classList.remove("show");
    void stage.offsetWidth; // restart the entrance animation for back-to-back alerts
    stage.classList.add("show");
    var audio = null;
    if (sameOrigin(v.sound)) {
      audio = new Audio(v.sound);
      audio.volume = typeof v.volume === "number" ? Math.max(0, Math.min(1, v.volume)) : 1;
      var playing = audio.play();
      if (playing && playing.catch) playing.catch(function () { /* autoplay refused */ });
    }
    return function () {
      stage.classList.remove("show");
      if (audio) audio.pause();
      if (video) video.pause();
    };
  }

  function preload(url) {
    if (!sameOrigin(url)) return;
    if (/\.(mp3|ogg|wav)$/i.test(url)) {
      var audio = new Audio();
      audio.preload = "auto";
      audio.src = url;
    } else if (/\.(webm|mp4)$/i.test(url)) {
      var video = document.createElement("video");
      video.preload = "auto";
      video.src = url;
    } else {
      new Image().src = url;
    }
  }

  // -- the connection -------------------------------------------------------------------------

  var socket = null;
  var attempts = 0;
  var statusEl = document.getElementById("connection");

  // The connection state shows in the dashboard's preview only (the element exists only
  // there); on stream a page that lost its server simply shows nothing new.
  function setStatus(connected) {
    api.connected = connected;
    body.setAttribute("data-connection", connected ? "online" : "offline");
    if (statusEl) statusEl.setAttribute("data-state", connected ? "online" : "offline");
    if (statusEl) statusEl.textContent = connected ? "connected" : "reconnecting…";
    statusHandlers.forEach(function (fn) { safely(fn, connected); });
  }

  function ack(id) {
    // While offline the ack waits: the next connection repeats the recent ones.
    if (preview) return;
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "ack", id: id }));
    }
  }

  function url() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var q = "token=" + encodeURIComponent(token) + "&overlay=" + encodeURIComponent(overlay);
    if (lastShown !== null) q += "&since=" + lastShown;
    // A dashboard preview says so: it is not counted as a browser source, its acks ignored.
    if (params.get("preview") === "1") q += "&preview=1";
    return scheme + "//" + window.location.host + "/overlays/ws?" + q;
  }

  function connect() {
    var ws;
    try {
      ws = new WebSocket(url());
    } catch (err) {
      retry();
      return;
    }
    socket = ws;
    ws.onopen = function () {
      // Repeat the recent acks: one sent just as the line dropped may never have arrived.
      var recent = shownOrder.slice(-50);
      if (recent.length && !preview) ws.send(JSON.stringify({ type: "ack", ids: recent }));
    };
    ws.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (err) { return; }
      if (message && typeof message === "object") handle(message);
    };
    ws.onclose = function () {
      if (socket === ws) socket = null;
      setStatus(false);
      retry();
    };
  }

  function retry() {
    var delay = Math.min(10000, 250 * Math.pow(2, attempts));
    attempts += 1;
    delay = delay * (0.5 + Math.random() / 2);
    window.setTimeout(connect, delay);
  }

  function applyState(key, data) {
    if (data === null || data === undefined) delete api.state[key];
    else api.state[key] = data;
    stateHandlers.forEach(function (fn) { safely(fn, key, data, api.state); });
  }

  function handle(message) {
    switch (message.type) {
      case "hello":
        if (lastShown !== null && typeof message.last_id === "number" &&
            message.last_id < lastShown) {
          // The server's alert history was reset (a new database): our resume point and
          // shown ids belong to the old one. Start afresh and reconnect without since.
          lastShown = null;
          shownOrder = [];
          shown = new Set();
          store.set("last", "");
          store.set("shown", "[]");
          if (socket) socket.close();
          return;
        }
        attempts = 0;
        if (store.get("boot") !== message.boot) {
          forgetTestIds();
          store.set("boot", String(message.boot));
        }
        api.paused = !!message.paused;
        setStatus(true);
        var state = message.state || {};
        Object.keys(api.state).forEach(function (key) {
          if (!(key in state)) applyState(key, null);
        });
        Object.keys(state).forEach(function (key) { applyState(key, state[key]); });
        pump();
        break;
      case "alert":
        enqueue(message);
        break;
      case "state":
        applyState(message.key, message.data);
        break;
      case "live":
        (liveHandlers[message.kind] || []).forEach(function (fn) { safely(fn, message.data); });
        break;
      case "control":
        control(message);
        break;
      case "designs":
        // The alert editor saved a design: fetch its pictures and sounds now, so the next
        // alert does not wait for them.
        (Array.isArray(message.media) ? message.media : []).forEach(preload);
        break;
      default:
        break;
    }
  }

  setStatus(false);
  body.setAttribute("data-connection", "connecting");
  if (statusEl) {
    statusEl.setAttribute("data-state", "connecting");
    statusEl.textContent = "connecting…";
  }
  connect();
})();
