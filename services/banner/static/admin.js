// The banner admin's only script, and the pages work without it. It shows, under each
// "Start (UTC)" and "End (UTC)" field, what that time is in the browser's own time zone, so
// nobody has to do time-zone arithmetic in their head.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const input of document.querySelectorAll("input[data-utc]")) {
    const hint = document.createElement("p");
    hint.className = "local-time";
    hint.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", hint);
    const update = () => {
      // A datetime-local value has no zone; adding "Z" reads it as UTC, as the server does.
      const at = input.value ? new Date(input.value + "Z") : null;
      hint.textContent = at && !Number.isNaN(at.getTime())
        ? "= " + at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) + " your time"
        : "";
    };
    input.addEventListener("input", update);
    update();
  }
});
