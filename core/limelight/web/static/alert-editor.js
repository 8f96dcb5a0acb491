// The alert editor (/admin/alerts): per kind of alert and per tier, the text, picture,
// sound, duration, animation and volume; a live preview in the overlay's own page (preview
// mode) rendered by the overlay's own script (window.Limelight.previewAlert); save, reset and
// test through the admin API (window.limelightApi sends the CSRF token). Uploads go to
// /admin/media as multipart through window.limelightFetch. Every text from the server or
// the streamer goes into the page with textContent or as an input's value.
"use strict";

(function () {
  const root = document.getElementById("alert-editor");
  if (!root) return;
  const overlay = root.dataset.overlay;
  const base = "/api/overlays/" + encodeURIComponent(overlay);
  const form = document.getElementById("design");
  const fields = document.getElementById("tier-form");
  const kindsNav = document.getElementById("kinds");
  const tiersNav = document.getElementById("tiers");
  const feedback = document.getElementById("editor-feedback");
  const chips = document.getElementById("placeholders");
  const iframe = root.querySelector(".frame iframe");

  const state = { kinds: [], kind: null, tier: 0, drafts: {}, dirty: {}, duration: 6000 };
  let hidePreview = null;
  let previewTimer = null;
  let previewSeq = 0;
  // The preview's own complaint is the one message a later good preview takes back; an
  // upload's or a save's stays until the streamer's next action replaces it.
  let previewComplaint = false;

  function say(text, bad) {
    feedback.textContent = text;
    feedback.className = "feedback " + (bad ? "error" : "ok");
    previewComplaint = false;
  }

  function input(name) { return form.elements.namedItem(name); }

  function copy(list) { return JSON.parse(JSON.stringify(list)); }

  function current() {
    const list = state.drafts[state.kind];
    return list ? list[state.tier] : null;
  }

  function kindInfo(kind) { return state.kinds.find(function (k) { return k.kind === kind; }); }

  function tierLabel(v, index) {
    if (v.name && v.name !== "default") return v.name;
    if (v.min_amount) return "From " + v.min_amount + " " + (v.currency || "");
    if (v.min_count) return "From " + v.min_count;
    return index === 0 ? "Default" : "Tier " + (index + 1);
  }

  function fileName(url) {
    if (!url) return "none";
    const name = url.split("/").pop();
    const ext = name.split(".").pop();
    return ext.toUpperCase() + " file " + name.slice(0, 8) + "…";
  }

  // A tier's picture or sound: "" plays the kind's default (the theme's art or chime),
  // "none" plays nothing, anything else is an uploaded file.
  function kindDefault(slot) {
    const info = kindInfo(state.kind);
    return (info && info["default_" + slot]) || "";
  }

  function mediaLabel(slot, value) {
    if (value === "none") return "none";
    if (!value) return kindDefault(slot) ? "theme default" : "none";
    return fileName(value);
  }

  // What "Remove" does next: an upload goes back to the default (or to none where the
  // kind has no default); the default is turned off; "none" gets the default back.
  function clearedMedia(slot, value) {
    return !value && kindDefault(slot) ? "none" : "";
  }

  function drawMedia(v) {
    for (const slot of ["image", "sound"]) {
      const value = v[slot] || "";
      root.querySelector("[data-field=" + slot + "-name]").textContent = mediaLabel(slot, value);
      const clear = root.querySelector("[data-action=clear-" + slot + "]");
      clear.textContent = value === "none" && kindDefault(slot) ? "Use default" : "Remove";
      clear.disabled = !value && !kindDefault(slot);
    }
  }

  // -- drawing -------------------------------------------------------------------------

  function drawKinds() {
    kindsNav.replaceChildren();
    for (const info of state.kinds) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "kind" + (info.kind === state.kind ? " active" : "");
      button.dataset.kind = info.kind;
      button.setAttribute("aria-pressed", info.kind === state.kind ? "true" : "false");
      const label = document.createElement("span");
      label.textContent = info.label;
      const tag = document.createElement("small");
      tag.className = "tag" + (info.saved ? " saved" : "");
      tag.textContent = state.dirty[info.kind] ? "unsaved" : (info.saved ? "saved" : "default");
      if (state.dirty[info.kind]) tag.className = "tag dirty";
      button.append(label, tag);
      kindsNav.append(button);
    }
  }

  function drawTiers() {
    tiersNav.replaceChildren();
    const list = state.drafts[state.kind] || [];
    list.forEach(function (v, index) {
      const button = document.createElement("button");
      button.type = "button";
      button.setAttribute("role", "tab");
      button.className = "tier" + (index === state.tier ? " active" : "");
      button.setAttribute("aria-selected", index === state.tier ? "true" : "false");
      button.dataset.tier = String(index);
      button.textContent = tierLabel(v, index);
      tiersNav.append(button);
    });
  }

  function drawChips() {
    chips.replaceChildren();
    const info = kindInfo(state.kind);
    if (!info) return;
    const intro = document.createElement("span");
    intro.textContent = "Insert: ";
    chips.append(intro);
    for (const name of info.placeholders) {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.dataset.placeholder = name;
      chip.textContent = "{" + name + "}";
      chips.append(chip);
    }
  }

  function fillForm() {
    const v = current();
    fields.disabled = !v;
    if (!v) return;
    input("name").value = v.name === "default" ? "" : (v.name || "");
    const threshold = v.min_amount ? "amount" : (v.min_count ? "count" : "none");
    input("threshold").value = threshold;
    input("min_amount").value = v.min_amount || "";
    input("currency").value = v.currency || "";
    input("min_count").value = v.min_count ? String(v.min_count) : "";
    input("text").value = v.text || "";
    input("volume").value = String(Math.round((v.volume === undefined ? 1 : v.volume) * 100));
    input("duration").value = String((v.duration_ms || state.duration) / 1000);
    input("animation").value = v.animation || "";
    drawMedia(v);
    showThreshold(threshold);
    root.querySelector("[data-action=remove-tier]").disabled = state.drafts[state.kind].length < 2;
  }

  function showThreshold(threshold) {
    for (const label of root.querySelectorAll(".threshold [data-for]")) {
      label.hidden = label.dataset.for !== threshold;
    }
  }

  function readForm() {
    const v = current();
    if (!v) return;
    const named = input("name").value.trim();
    v.name = named;
    const threshold = input("threshold").value;
    v.min_amount = threshold === "amount" ? input("min_amount").value.trim() : "";
    v.currency = threshold === "amount" ? input("currency").value.trim().toUpperCase() : "";
    v.min_count = threshold === "count" ? (parseInt(input("min_count").value, 10) || 0) : 0;
    v.text = input("text").value;
    v.volume = Math.max(0, Math.min(100, Number(input("volume").value) || 0)) / 100;
    const seconds = Number(input("duration").value);
    v.duration_ms = seconds > 0 ? Math.round(seconds * 1000) : null;
    v.animation = input("animation").value;
    showThreshold(threshold);
  }

  function changed() {
    readForm();
    state.dirty[state.kind] = true;
    drawKinds();
    drawTiers();
    schedulePreview();
  }

  function select(kind, tier) {
    state.kind = kind;
    state.tier = tier || 0;
    drawKinds();
    drawTiers();
    drawChips();
    fillForm();
    schedulePreview();
  }

  // -- the design as the API takes it -----------------------------------------------------

  function clean(v) {
    return {
      name: v.name || "",
      text: v.text || "",
      min_amount: v.min_amount || "",
      currency: v.min_amount ? (v.currency || "") : "",
      min_count: v.min_count || 0,
      duration_ms: v.duration_ms || null,
      image: v.image || "",
      sound: v.sound || "",
      volume: v.volume === undefined ? 1 : v.volume,
      animation: v.animation || "",
    };
  }

  // -- preview ---------------------------------------------------------------------------

  function frameApi() {
    try {
      const win = iframe && iframe.contentWindow;
      return win && win.Limelight && typeof win.Limelight.previewAlert === "function" ? win.Limelight : null;
    } catch (err) {
      return null;
    }
  }

  function schedulePreview() {
    window.clearTimeout(previewTimer);
    previewTimer = window.setTimeout(preview, 250);
  }

  async function preview(replay) {
    const v = current();
    if (!v) return;
    const seq = ++previewSeq;
    let shown;
    try {
      shown = await window.limelightApi(base + "/preview", {
        method: "POST",
        body: JSON.stringify({ kind: state.kind, variation: clean(v) }),
      });
    } catch (err) {
      if (seq === previewSeq) { say(err.message, true); previewComplaint = true; }
      return;
    }
    if (seq !== previewSeq) return;
    if (previewComplaint) say("");
    const api = frameApi();
    if (!api) return;
    if (typeof hidePreview === "function") { try { hidePreview(); } catch (e) { /* gone */ } }
    const alert = {
      id: 0,
      kind: shown.kind,
      data: shown.data,
      variation: shown.variation,
      duration_ms: shown.variation.duration_ms,
      test: true,
    };
    const show = function () {
      hidePreview = api.previewAlert(alert);
      root.dataset.previewed = String(seq);
    };
    if (replay) window.setTimeout(show, 450); else show();
  }

  // -- uploads ---------------------------------------------------------------------------

  async function upload(fileInput, slot) {
    const file = fileInput.files && fileInput.files[0];
    if (!file) return;
    const body = new FormData();
    body.append("kind", slot === "sound" ? "audio" : "visual");
    body.append("file", file);
    const target = current();
    say("Uploading " + file.name + "…");
    try {
      const response = await window.limelightFetch("/admin/media", { method: "POST", body: body });
      const text = await response.text();
      let answer = {};
      try { answer = JSON.parse(text); } catch (e) { answer = { error: text }; }
      if (!response.ok) throw new Error(answer.error || response.statusText);
      target[slot] = answer.url;
      state.dirty[state.kind] = true;
      say("Uploaded " + file.name + ". Save to use it on stream.");
      fillForm();
      drawKinds();
      schedulePreview();
    } catch (err) {
      say(file.name + ": " + err.message, true);
    } finally {
      fileInput.value = "";
    }
  }

  // -- actions ---------------------------------------------------------------------------

  function adopt(kinds) {
    state.kinds = kinds;
    for (const info of kinds) {
      if (!state.dirty[info.kind]) state.drafts[info.kind] = copy(info.variations);
    }
  }

  async function load() {
    try {
      const answer = await window.limelightApi(base + "/designs");
      state.duration = answer.duration_ms;
      adopt(answer.kinds);
      if (!answer.kinds.length) { say("This overlay plays no alerts.", true); return; }
      select(answer.kinds[0].kind, 0);
    } catch (err) {
      say(err.message, true);
    }
  }

  async function save() {
    readForm();
    const kind = state.kind;
    const info = kindInfo(kind);
    try {
      const answer = await window.limelightApi(base + "/designs/" + encodeURIComponent(kind), {
        method: "PUT",
        body: JSON.stringify({ variations: state.drafts[kind].map(clean) }),
      });
      state.dirty[kind] = false;
      adopt(answer.kinds);
      say("Saved. The next " + info.label.toLowerCase() + " alert looks like this on every open overlay.");
      select(kind, Math.min(state.tier, state.drafts[kind].length - 1));
    } catch (err) {
      say(err.message, true);
    }
  }

  async function reset() {
    const info = kindInfo(state.kind);
    const sure = await window.limelightDialog({
      title: "Reset " + info.label.toLowerCase() + " alerts?",
      message: "Your saved design for this kind is deleted; the look from config.toml (or the built-in one) is used again.",
      confirm: "Reset",
      danger: true,
    });
    if (!sure) return;
    try {
      const answer = await window.limelightApi(base + "/designs/" + encodeURIComponent(state.kind), { method: "DELETE" });
      state.dirty[state.kind] = false;
      adopt(answer.kinds);
      say("Back to the default look.");
      select(state.kind, 0);
    } catch (err) {
      say(err.message, true);
    }
  }

  async function test() {
    readForm();
    try {
      await window.limelightApi(base + "/test", {
        method: "POST",
        body: JSON.stringify({ kind: state.kind, variation: clean(current()) }),
      });
      say("Test alert sent to the open overlays (not saved yet).");
    } catch (err) {
      say(err.message, true);
    }
  }

  function playSound() {
    const v = current();
    const sound = !v || v.sound === "none" ? "" : (v.sound || kindDefault("sound"));
    if (!sound) { say("This tier has no sound.", true); return; }
    const audio = new Audio(sound);
    audio.volume = v.volume === undefined ? 1 : v.volume;
    audio.play().catch(function (err) { say("The browser did not play it: " + err.message, true); });
  }

  root.addEventListener("click", function (event) {
    const kindButton = event.target.closest("button[data-kind]");
    if (kindButton) { select(kindButton.dataset.kind, 0); return; }
    const tierButton = event.target.closest("button[data-tier]");
    if (tierButton) { select(state.kind, Number(tierButton.dataset.tier)); return; }
    const chip = event.target.closest("button[data-placeholder]");
    if (chip) {
      const text = input("text");
      const at = text.selectionStart === null ? text.value.length : text.selectionStart;
      const insert = "{" + chip.dataset.placeholder + "}";
      text.value = text.value.slice(0, at) + insert + text.value.slice(text.selectionEnd || at);
      text.focus();
      text.setSelectionRange(at + insert.length, at + insert.length);
      changed();
      return;
    }
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const action = button.dataset.action;
    const list = state.drafts[state.kind];
    if (action === "add-tier" && list) {
      const v = copy([current()])[0];
      v.name = "";
      v.min_amount = "";
      v.min_count = 0;
      list.push(v);
      state.dirty[state.kind] = true;
      select(state.kind, list.length - 1);
      input("threshold").value = "amount";
      showThreshold("amount");
      input("min_amount").focus();
    } else if (action === "remove-tier" && list && list.length > 1) {
      list.splice(state.tier, 1);
      state.dirty[state.kind] = true;
      select(state.kind, Math.max(0, state.tier - 1));
    } else if (action === "clear-image" || action === "clear-sound") {
      const slot = action === "clear-image" ? "image" : "sound";
      current()[slot] = clearedMedia(slot, current()[slot] || "");
      changed();
      fillForm();
    } else if (action === "play-sound") {
      playSound();
    } else if (action === "test") {
      test();
    } else if (action === "replay-preview") {
      preview(true);
    } else if (action === "reset") {
      reset();
    }
  });

  form.addEventListener("input", function (event) {
    if (event.target.type === "file") return;
    changed();
  });
  form.addEventListener("change", function (event) {
    if (event.target.name === "image-file") upload(event.target, "image");
    else if (event.target.name === "sound-file") upload(event.target, "sound");
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); save(); });
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", function () { select.form.submit(); });
  }
  window.addEventListener("beforeunload", function (event) {
    if (Object.keys(state.dirty).some(function (k) { return state.dirty[k]; })) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
  if (iframe) iframe.addEventListener("load", function () { schedulePreview(); });
  load();
})();
