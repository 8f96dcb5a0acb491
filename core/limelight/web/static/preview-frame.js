// Scaled overlay previews: each <div class="frame"> holds an <iframe> sized like the overlay
// (its width/height attributes); the frame scales it to the frame's width and keeps the
// overlay's aspect ratio, so a 1920×1080 overlay fits a 400 px dock without overflow.
"use strict";

(function () {
  function fit(frame) {
    const iframe = frame.querySelector("iframe");
    if (!iframe) return;
    const width = Number(iframe.getAttribute("width")) || 1920;
    const height = Number(iframe.getAttribute("height")) || 1080;
    const room = frame.clientWidth;
    if (!room) return;
    const scale = Math.min(1, room / width);
    iframe.style.width = width + "px";
    iframe.style.height = height + "px";
    iframe.style.transform = "scale(" + scale + ")";
    frame.style.height = Math.ceil(height * scale) + "px";
  }

  const frames = document.querySelectorAll(".frame");
  if (!frames.length) return;
  const observer = new ResizeObserver(function (entries) {
    for (const entry of entries) fit(entry.target);
  });
  for (const frame of frames) {
    fit(frame);
    observer.observe(frame);
  }
})();
