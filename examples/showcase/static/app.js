// The page's only script: it calls the showcase's JSON API.
"use strict";

async function loadUsers() {
  const res = await fetch("/users");
  const users = await res.json();
  const body = document.querySelector("#users tbody");
  body.replaceChildren(...users.map((u) => {
    const tr = document.createElement("tr");
    for (const v of [u.id, u.name, u.email, new Date(u.created).toLocaleString()]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.append(td);
    }
    return tr;
  }));
}

document.querySelector("#add").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  const res = await fetch("/users", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: form.get("name"), email: form.get("email") }),
  });
  document.querySelector("#add-status").textContent =
    res.ok ? "added" : `${res.status}: ${await res.text()}`;
  if (res.ok) {
    e.target.reset();
    loadUsers();
  }
});

document.querySelector("#hash").addEventListener("submit", async (e) => {
  e.preventDefault();
  const n = new FormData(e.target).get("n");
  const out = document.querySelector("#hash-result");
  out.textContent = "hashing…";
  const start = performance.now();
  const res = await fetch(`/hash?n=${encodeURIComponent(n)}`);
  const ms = (performance.now() - start).toFixed(1);
  out.textContent = res.ok
    ? JSON.stringify(await res.json(), null, 2) + `\n(${ms} ms, ${res.headers.get("Server-Timing") || "no Server-Timing"})`
    : `${res.status}: ${await res.text()}`;
});

loadUsers();
