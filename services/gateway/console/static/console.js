// cp247 consoles: live clocks and the live checklist. Plain script, no library, no CDN.
"use strict";

function clockText(seconds) {
  const span = Math.abs(Math.trunc(seconds));
  const d = Math.floor(span / 86400), h = Math.floor((span % 86400) / 3600);
  const m = Math.floor((span % 3600) / 60);
  const text = d ? `${d} d ${h} h` : `${h} h ${String(m).padStart(2, "0")} min`;
  return seconds < 0 ? `overdue by ${text}` : `${text} left`;
}

function tickClocks() {
  for (const el of document.querySelectorAll("[data-deadline]")) {
    const left = (Date.parse(el.dataset.deadline) - Date.now()) / 1000;
    if (Number.isNaN(left)) continue;
    el.textContent = clockText(left);
    el.classList.toggle("overdue", left < 0);
  }
}

function updateChecklist(form) {
  const list = document.getElementById("checklist");
  if (!list) return;
  let present = 0, total = 0;
  for (const item of list.querySelectorAll("li[data-fields]")) {
    const names = item.dataset.fields.split(" ");
    const given = (name) => {
      const field = form.elements.namedItem(name);
      return Boolean(field) && String(field.value || "").trim() !== "";
    };
    const filled = item.dataset.mode === "all" ? names.every(given) : names.some(given);
    item.classList.toggle("present", filled);
    item.classList.toggle("missing", !filled);
    item.querySelector(".state").textContent = filled ? "given" : "missing";
    total += 1;
    if (filled) present += 1;
  }
  const score = document.getElementById("checklist-score");
  if (score) score.textContent = `${present} of ${total} Art 29(2) items given`;
}

document.addEventListener("DOMContentLoaded", () => {
  tickClocks();
  setInterval(tickClocks, 30000);
  const form = document.getElementById("register-form");
  if (form) {
    form.addEventListener("input", () => updateChecklist(form));
    form.addEventListener("change", () => updateChecklist(form));
    updateChecklist(form);
  }
});
