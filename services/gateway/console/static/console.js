// cp247 consoles: live clocks, the live checklist and the hashing of uploads. Plain script,
// no library, no CDN.
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

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

// A production: each file's SHA-256 computed here, sent beside it and checked on receipt.
function hashBeforeUpload(form) {
  let hashed = false;
  form.addEventListener("submit", async (event) => {
    if (hashed || !window.crypto || !crypto.subtle) return; // no script help: hashed on receipt
    event.preventDefault();
    const list = document.getElementById("pr-digests");
    for (const old of form.querySelectorAll("input[name='sha256']")) old.remove();
    list.textContent = "";
    for (const file of form.elements.namedItem("files").files) {
      const digest = hex(await crypto.subtle.digest("SHA-256", await file.arrayBuffer()));
      const field = document.createElement("input");
      Object.assign(field, { type: "hidden", name: "sha256", value: digest });
      form.appendChild(field);
      const item = document.createElement("li");
      item.textContent = `${file.name}: SHA-256 ${digest}`;
      list.appendChild(item);
    }
    hashed = true;
    form.submit();
  });
}

// A table of class "sortable": each heading becomes a button that sorts by its column
// (a cell's data-sort first, else its text), again for the other way round.
function makeSortable(table) {
  const headings = table.querySelectorAll("thead th");
  headings.forEach((th, column) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    button.textContent = th.textContent;
    th.textContent = "";
    th.appendChild(button);
    button.addEventListener("click", () => {
      const up = th.getAttribute("aria-sort") !== "ascending";
      headings.forEach((other) => other.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      const body = table.tBodies[0];
      const key = (row) => {
        const cell = row.cells[column];
        return cell ? (cell.dataset.sort || cell.textContent.trim()).toLowerCase() : "";
      };
      const rows = Array.from(body.rows).filter((row) => row.cells.length > 1);
      rows.sort((a, b) => (up ? 1 : -1) * key(a).localeCompare(key(b), undefined, { numeric: true }));
      rows.forEach((row) => body.appendChild(row));
    });
  });
}

// On a phone each row reads as a card: every cell is labelled with its column's heading.
function labelCells(table) {
  const names = Array.from(table.querySelectorAll("thead th"), (th) => th.textContent.trim());
  for (const row of table.querySelectorAll("tbody tr")) {
    Array.from(row.cells).forEach((cell, i) => {
      if (names[i] && cell.colSpan === 1) cell.dataset.label = names[i];
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("table")) labelCells(table);
  for (const table of document.querySelectorAll("table.sortable")) makeSortable(table);
  tickClocks();
  setInterval(tickClocks, 30000);
  const form = document.getElementById("register-form");
  if (form) {
    form.addEventListener("input", () => updateChecklist(form));
    form.addEventListener("change", () => updateChecklist(form));
    updateChecklist(form);
  }
  const upload = document.getElementById("produce-form");
  if (upload) hashBeforeUpload(upload);
});
