// The wallboard: a snapshot, then one event per queue or agent that changed
// (docs/web.md). Everything is drawn with textContent: names never become markup.
"use strict";

const queues = new Map();
const agents = new Map();
let source = null;
// Set once a token was sent: a refusal after it is the token's, not a missing session's.
let tokenSent = false;

// Durations are shown one way throughout: m:ss, or h:mm:ss from an hour on.
function duration(ms) {
  if (ms === null || ms === undefined) return "–";
  const total = Math.floor(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours > 0
    ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}`
    : `${minutes}:${seconds}`;
}

function percent(share) {
  return share === null || share === undefined ? "–" : `${Math.round(share * 100)} %`;
}

// Colours for the service level: at least 80 % answered within the queue's goal (the usual
// "80/20" share), within 10 points of it, or below.
const SERVICE_LEVEL_GOAL = 0.8;
function serviceLevelClass(share) {
  if (share === null || share === undefined) return "";
  if (share >= SERVICE_LEVEL_GOAL) return "good";
  return share >= SERVICE_LEVEL_GOAL - 0.1 ? "warning" : "bad";
}

const CHANNEL_NAMES = { voice: "voice", chat: "chat", email: "e-mail", callback: "callback" };

function cell(row, metric, text, className) {
  const td = document.createElement("td");
  td.dataset.metric = metric;
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
}

function drawQueues() {
  const body = document.querySelector("#queues tbody");
  const rows = [];
  for (const queue of queues.values()) {
    const row = document.createElement("tr");
    row.dataset.queue = queue.name;
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = queue.name;
    // The channel under the name rather than in a column of its own: the row stays one
    // screen wide.
    const channel = document.createElement("span");
    channel.className = "channel";
    channel.dataset.metric = "channel";
    channel.textContent = CHANNEL_NAMES[queue.channel] || queue.channel;
    name.appendChild(channel);
    row.appendChild(name);
    const agentsOf = queue.agents;
    cell(row, "contacts_in_queue", String(queue.contacts_in_queue),
      queue.contacts_in_queue > 0 && agentsOf.agents_available === 0 ? "warning" : "");
    cell(row, "oldest_contact_age", duration(queue.oldest_contact_age_ms),
      queue.oldest_contact_age_ms > queue.service_level_target_ms ? "bad" : "");
    cell(row, "contacts_scheduled", String(queue.contacts_scheduled));
    cell(row, "service_level_target", duration(queue.service_level_target_ms));
    cell(row, "service_level_today", percent(queue.service_level_today),
      serviceLevelClass(queue.service_level_today));
    cell(row, "service_level_interval", percent(queue.service_level_interval),
      serviceLevelClass(queue.service_level_interval));
    cell(row, "abandonment_rate_today", percent(queue.abandonment_rate_today));
    cell(row, "agents_available", String(agentsOf.agents_available));
    cell(row, "agents_on_contact", String(agentsOf.agents_on_contact));
    cell(row, "agents_after_contact_work", String(agentsOf.agents_after_contact_work));
    cell(row, "agents_non_productive", String(agentsOf.agents_non_productive));
    cell(row, "agents_staffed", String(agentsOf.agents_staffed));
    cell(row, "agents_online", String(agentsOf.agents_online));
    cell(row, "slots", `${agentsOf.slots_active} / ${agentsOf.slots_available}`);
    rows.push(row);
  }
  body.replaceChildren(...rows);
}

function drawAgents() {
  const items = [];
  for (const agent of agents.values()) {
    const [kind, label] = activity(agent.state);
    const item = document.createElement("li");
    item.dataset.agent = agent.id;
    item.dataset.activity = kind;
    item.textContent = `${agent.id}: ${label}${agent.registered ? "" : " (no phone)"}`;
    items.push(item);
  }
  document.getElementById("agents").replaceChildren(...items);
}

function setStatus(text, className) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = className;
}

function showLogin(message) {
  document.getElementById("board").hidden = true;
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message || "";
  setStatus("Signed out", "down");
}

function updated() {
  setStatus(`Live, updated ${clock(Date.now(), true)}`, "live");
}

function connect() {
  if (source) source.close();
  source = new EventSource("/wallboard/events");
  source.addEventListener("snapshot", (event) => {
    const view = JSON.parse(event.data);
    queues.clear();
    agents.clear();
    for (const queue of view.queues) queues.set(queue.name, queue);
    for (const agent of view.agents) agents.set(agent.id, agent);
    document.getElementById("interval").textContent =
      `(interval from ${clock(view.interval_start_unix_ms)})`;
    document.getElementById("login").hidden = true;
    document.getElementById("board").hidden = false;
    drawQueues();
    drawAgents();
    updated();
  });
  source.addEventListener("queue", (event) => {
    const queue = JSON.parse(event.data);
    queues.set(queue.name, queue);
    drawQueues();
    updated();
  });
  source.addEventListener("agent", (event) => {
    const agent = JSON.parse(event.data);
    agents.set(agent.id, agent);
    drawAgents();
    updated();
  });
  source.onerror = () => {
    // Closed: the server refused the stream (no session, or not a supervisor's);
    // connecting: the browser retries by itself, with Last-Event-ID.
    if (source.readyState === EventSource.CLOSED) {
      showLogin(tokenSent ? "This token may not open the wallboard." : "");
    } else {
      setStatus("Reconnecting…", "down");
    }
  };
}

document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("token");
  const answer = await fetch("/wallboard/session", {
    method: "POST",
    headers: { Authorization: `Bearer ${input.value}` },
    credentials: "same-origin",
  });
  input.value = "";
  if (answer.status === 204) {
    tokenSent = true;
    connect();
  } else if (answer.status === 403) {
    showLogin("This token may not open the wallboard: it needs a supervisor's role.");
  } else {
    showLogin("The token was not accepted.");
  }
});

connect();
