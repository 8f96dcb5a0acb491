// Copy buttons: <button data-copy="ID"> copies the text of the element with that id (an
// overlay URL) with the clipboard API; where that is not allowed (plain http on another
// host, an old OBS dock) it selects the text so Ctrl+C copies it, and says so.
"use strict";

(function () {
  function selectText(node) {
    if (node instanceof HTMLInputElement || node instanceof HTMLTextAreaElement) {
      node.focus();
      node.select();
      return;
    }
    const range = document.createRange();
    range.selectNodeContents(node);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function tell(button, text, ok) {
    const status = button.parentElement.querySelector(".copy-status");
    if (!status) return;
    status.textContent = text;
    status.className = "copy-status " + (ok ? "ok" : "");
    window.clearTimeout(button._copyTimer);
    button._copyTimer = window.setTimeout(function () { status.textContent = ""; }, 4000);
  }

  async function copy(button) {
    const node = document.getElementById(button.dataset.copy);
    if (!node) return;
    const text = (node.value !== undefined ? node.value : node.textContent).trim();
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error("no clipboard");
      await navigator.clipboard.writeText(text);
      tell(button, "Copied", true);
    } catch (err) {
      selectText(node);
      let done = false;
      try { done = document.execCommand("copy"); } catch (e) { done = false; }
      tell(button, done ? "Copied" : "Selected: press Ctrl+C (⌘C) to copy", done);
    }
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-copy]");
    if (button) copy(button);
  });
  for (const node of document.querySelectorAll(".url-text")) {
    node.addEventListener("focus", function () { selectText(node); });
  }
})();
