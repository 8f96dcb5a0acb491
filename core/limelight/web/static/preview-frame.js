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
    const holder = frame.parentElement || frame;
    const style = window.getComputedStyle(holder);
    const room = holder.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    if (!room) return;
    // A tall overlay (the 480×800 chat) is capped in height and centred, not page-long.
    const tallest = Number(frame.dataset.maxHeight) || 360;
    // Less 2 px for the frame's border.
    const scale = Math.min(1, (room - 2) / width, tallest / height);
    iframe.style.width = width + "px";
    iframe.style.height = height + "px";
    iframe.style.transform = "scale(" + scale + ")";
    frame.style.width = Math.floor(width * scale) + "px";
    frame.style.height = Math.ceil(height * scale) + "px";
  }

  const frames = document.querySelectorAll(".frame");
  if (!frames.length) return;
  const observer = new ResizeObserver(function (entries) {
    for (const entry of entries) {
      const frame = entry.target.classList.contains("frame")
        ? entry.target : entry.target.querySelector(".frame");
      if (frame) fit(frame);
    }
  });
  for (const frame of frames) {
    fit(frame);
    observer.observe(frame.parentElement || frame);
  }
})();
