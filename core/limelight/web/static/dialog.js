// limelightDialog: the dashboard's in-page dialog, instead of window.prompt()/confirm().
//
//   const values = await window.limelightDialog({
//     title: "Refund this tip?",
//     message: "Alice tipped $5.00.",            // plain text, shown with textContent
//     fields: [{ name: "amount", label: "Amount to refund", value: "5.00",
//                inputmode: "decimal", required: true, hint: "Leave as is for all of it." }],
//     confirm: "Refund", cancel: "Cancel", danger: true,
//     check: (values) => "" | "what is wrong",   // optional: keeps the dialog open
//   });
//   // values: {amount: "5.00"} after confirm, null after cancel / Escape.
//
// A native <dialog> (modal, focus trapped, Escape cancels); every text goes in with
// textContent, so a viewer's name in a message stays text. Load /-/static/dialog.css too.
"use strict";

(function () {
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function limelightDialog(options) {
    const opts = options || {};
    return new Promise(function (resolve) {
      const dialog = el("dialog", "ll-dialog" + (opts.danger ? " danger" : ""));
      const form = el("form");
      form.method = "dialog";
      const title = el("h2", "ll-dialog-title", opts.title || "");
      title.id = "ll-dialog-title-" + Math.random().toString(36).slice(2);
      dialog.setAttribute("aria-labelledby", title.id);
      form.append(title);
      if (opts.message) form.append(el("p", "ll-dialog-message", opts.message));
      const inputs = {};
      for (const field of opts.fields || []) {
        const label = el("label", "ll-dialog-field");
        label.append(el("span", "", field.label || field.name));
        const input = el(field.type === "textarea" ? "textarea" : "input");
        if (field.type !== "textarea") input.type = field.type || "text";
        input.name = field.name;
        input.value = field.value === undefined ? "" : String(field.value);
        if (field.placeholder) input.placeholder = field.placeholder;
        if (field.inputmode) input.inputMode = field.inputmode;
        if (field.maxlength) input.maxLength = field.maxlength;
        if (field.required) input.required = true;
        label.append(input);
        if (field.hint) label.append(el("small", "ll-dialog-hint", field.hint));
        form.append(label);
        inputs[field.name] = input;
      }
      const problem = el("p", "ll-dialog-problem");
      problem.setAttribute("role", "alert");
      form.append(problem);
      const buttons = el("div", "ll-dialog-buttons");
      const cancel = el("button", "secondary", opts.cancel || "Cancel");
      cancel.type = "button";
      cancel.value = "cancel";
      const confirm = el("button", opts.danger ? "danger" : "", opts.confirm || "OK");
      confirm.type = "submit";
      confirm.value = "confirm";
      buttons.append(cancel, confirm);
      form.append(buttons);
      dialog.append(form);

      let settled = false;
      function finish(value) {
        if (settled) return;
        settled = true;
        if (dialog.open) dialog.close();
        dialog.remove();
        resolve(value);
      }
      function values() {
        const out = {};
        for (const name of Object.keys(inputs)) out[name] = inputs[name].value;
        return out;
      }
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        const found = values();
        const wrong = typeof opts.check === "function" ? opts.check(found) : "";
        if (wrong) {
          problem.textContent = wrong;
          return;
        }
        finish(found);
      });
      cancel.addEventListener("click", function () { finish(null); });
      dialog.addEventListener("cancel", function (event) { event.preventDefault(); finish(null); });
      dialog.addEventListener("close", function () { finish(null); });
      document.body.append(dialog);
      dialog.showModal();
      const first = form.querySelector("input, textarea");
      (first || confirm).focus();
      if (first && first.select) first.select();
    });
  }

  window.limelightDialog = limelightDialog;
})();
