// The agent desk: the agent's state and the contact it is offered or talks to, read every
// second from the API with the token typed in (kept in this page's memory only, never stored),
// and the state changes as buttons (docs/web.md). The chat pane is chat.js.
"use strict";

const REFRESH_MS = 1000;
let agent = null;
let token = null;
let timer = null;

function api(method, path, body) {
  return fetch(path, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function agentPath(action) {
  const base = `/agents/${encodeURIComponent(agent)}`;
  return action ? `${base}/${action}` : base;
}

function setText(selector, text) {
  document.querySelector(selector).textContent = text;
}

function showContact(contact) {
  document.getElementById("contact").hidden = !contact;
  document.getElementById("no-contact").hidden = Boolean(contact);
  if (!contact) return;
  const contactState = contact.state === "ringing" ? "ringing: answer on the phone" : contact.state;
  setText('[data-attribute="state"]', contactState);
  setText('[data-attribute="caller"]', contact.caller || "unknown");
  setText('[data-attribute="entry_point"]', contact.entry_point);
  setText('[data-attribute="queue"]', contact.queue || "–");
  setText('[data-attribute="arrived"]', clock(contact.arrived_unix_ms, true));
  setText('[data-attribute="contact_id"]', String(contact.contact_id));
}

async function refresh() {
  const [state, contacts] = await Promise.all([api("GET", agentPath()), api("GET", agentPath("contacts"))]);
  if (state.status !== 200) {
    signOut(state.status === 403 ? "This token may not act for this agent." : "The token was not accepted.");
    return;
  }
  const view = await state.json();
  setText("#state", activity(view.state)[1]);
  showContact(contacts.status === 200 ? (await contacts.json())[0] : null);
  document.getElementById("status").textContent =
    `${agent}${view.registered ? "" : " (no phone registered)"}, updated ${clock(Date.now(), true)}`;
}

function signOut(message) {
  clearInterval(timer);
  token = null;
  stopChats();
  document.getElementById("desk").hidden = true;
  document.getElementById("chat").hidden = true;
  document.getElementById("login").hidden = false;
  setText("#login-error", message || "");
  setText("#status", "Signed out");
}

async function act(action, body) {
  const answer = await api("POST", agentPath(action), body);
  if (answer.status === 200) {
    setText("#action-error", "");
  } else {
    const error = await answer.json().catch(() => ({}));
    setText("#action-error", error.error || `refused (${answer.status})`);
  }
  await refresh();
}

document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  agent = document.getElementById("agent").value.trim();
  const input = document.getElementById("token");
  token = input.value;
  input.value = "";
  document.getElementById("login").hidden = true;
  document.getElementById("desk").hidden = false;
  document.getElementById("chat").hidden = false;
  await refresh();
  if (token) timer = setInterval(refresh, REFRESH_MS);
});
document.getElementById("log-in").addEventListener("click", () => act("login"));
document.getElementById("ready").addEventListener("click", () => act("ready"));
document.getElementById("aux").addEventListener("click", () =>
  act("aux", { reason: document.getElementById("reason").value }));
document.getElementById("wrap-up-done").addEventListener("click", () => act("wrap-up-done"));
document.getElementById("log-out").addEventListener("click", () => act("logout"));
