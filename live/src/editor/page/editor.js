// The IVR editor: draws a flow of the scenario file as boxes and arrows, lets the user add nodes
// from the palette by dragging, move them, connect a port to a node by dragging, edit a node's
// keys, and checks and saves the flow through the API (docs/web.md). The page holds no rules of
// the flow language: the server checks with the engine's own checks and says what is wrong.
// The token stays in this page's memory only, like the desk's.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const NODE_WIDTH_PX = 190;
const HEADER_HEIGHT_PX = 40;
const PORT_HEIGHT_PX = 20;
const PROBLEM_LINE_PX = 15;
const PROBLEM_LINE_CHARS = 30;
const MENU_DIGITS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#"];

// Each kind's keys as a new node gets them, and the keys that name the next node (its ports).
// The defaults are the engine's where it has one (docs/scenario.md).
const KINDS = {
  menu: { keys: { prompt: "Choose an option", duration: "3s", options: {}, timeout: "5s", retries: 2, on_fail: "" }, ports: ["on_fail"] },
  play: { keys: { prompt: "Welcome", duration: "2s", next: "" }, ports: ["next"] },
  collect: { keys: { prompt: "Enter your number", duration: "3s", max_digits: 8, timeout: "5s", attribute: "account", next: "", secure: false }, ports: ["next"] },
  "business-hours": { keys: { calendar: "", open: "", closed: "" }, ports: ["open", "closed"] },
  condition: { keys: { when: { attribute: { attribute: "vip" } }, then: "", else: "" }, ports: ["then", "else"] },
  queue: { keys: { queue: "" }, optional: ["priority"], ports: [] },
  callback: { keys: { queue: "", prompt: "Press 1 for a callback", duration: "3s", accept_digit: "1", timeout: "5s", declined: "" }, ports: ["declined"] },
  "self-service": { keys: { prompt: "Your balance is", duration: "5s" }, ports: [] },
  bot: { keys: { escalate: "" }, ports: ["escalate"] },
  hangup: { keys: { duration: "0s" }, optional: ["prompt"], ports: [] },
  transfer: { keys: { site: "" }, ports: [] },
};

let token = null;
let scenario = null; // GET /ivr/flows: file, flows, queues, calendars, sites
let flow = null; // the flow being edited, as the API spells it
let selected = null; // the selected node's id
let problems = [];

function api(method, path, body) {
  return fetch(path, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function element(name, attributes, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

function setStatus(text) {
  document.getElementById("status").textContent = text;
}

// The ports of a node: [key, label], the key as the node spells it (`options.2`, `next`).
function portsOf(node) {
  const ports = [];
  if (node.kind === "menu") {
    for (const digit of Object.keys(node.options || {}).sort()) ports.push([`options.${digit}`, `press ${digit}`]);
  }
  for (const key of (KINDS[node.kind] || { ports: [] }).ports) ports.push([key, key.replace("_", " ")]);
  if (node.kind === "menu") ports.push(["options.+", "+ option"]);
  return ports;
}

function target(node, key) {
  if (key.startsWith("options.")) return (node.options || {})[key.slice("options.".length)] || "";
  return node[key] || "";
}

function connect(node, key, to) {
  if (key === "options.+") {
    node.options = node.options || {};
    const digit = MENU_DIGITS.find((candidate) => !(candidate in node.options));
    if (digit) node.options[digit] = to;
  } else if (key.startsWith("options.")) {
    node.options[key.slice("options.".length)] = to;
  } else {
    node[key] = to;
  }
}

function position(id) {
  flow.layout = flow.layout || {};
  if (!flow.layout[id]) {
    // A node without a position goes into the next free cell of a grid.
    const index = flow.node.findIndex((node) => node.id === id);
    flow.layout[id] = [30 + (index % 4) * 240, 30 + Math.floor(index / 4) * 170];
  }
  return flow.layout[id];
}

function nodeHeight(node) {
  return HEADER_HEIGHT_PX + portsOf(node).length * PORT_HEIGHT_PX + 8;
}

function problemsOf(id) {
  return problems.filter((problem) => problem.in_flow && problem.node === id);
}

// `text` in lines of at most about `width` characters, broken after spaces.
function wrap(text, width) {
  const lines = [""];
  for (const word of text.split(/(?<= )/)) {
    if (lines[lines.length - 1].length + word.length > width && lines[lines.length - 1]) lines.push("");
    lines[lines.length - 1] += word;
  }
  return lines;
}

function draw() {
  const canvas = document.getElementById("canvas");
  canvas.replaceChildren();
  const defs = element("defs", {}, canvas);
  const marker = element("marker", { id: "arrow-head", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto" }, defs);
  element("path", { d: "M0,0 L10,5 L0,10 z" }, marker);
  const arrows = element("g", { class: "arrows" }, canvas);
  for (const node of flow.node) {
    const [x, y] = position(node.id);
    const mine = problemsOf(node.id);
    const group = element("g", { class: "node", "data-id": node.id, transform: `translate(${x},${y})` }, canvas);
    if (node.id === selected) group.classList.add("selected");
    if (node.id === flow.start) group.classList.add("start");
    if (mine.length) group.classList.add("has-problem");
    element("rect", { class: "box", width: NODE_WIDTH_PX, height: nodeHeight(node), rx: 6 }, group);
    element("text", { class: "kind", x: 10, y: 15 }, group).textContent = node.id === flow.start ? `${node.kind} (start)` : node.kind;
    element("text", { class: "id", x: 10, y: 32 }, group).textContent = node.id;
    portsOf(node).forEach(([key, label], index) => {
      const portY = HEADER_HEIGHT_PX + index * PORT_HEIGHT_PX + 10;
      element("text", { x: NODE_WIDTH_PX - 18, y: portY + 4, "text-anchor": "end" }, group).textContent = label;
      const port = element("circle", { class: "port", cx: NODE_WIDTH_PX, cy: portY, r: 7, "data-port": key }, group);
      if (key !== "options.+" && !target(node, key)) port.classList.add("unset");
      const to = target(node, key);
      const toNode = key !== "options.+" && flow.node.find((other) => other.id === to);
      if (toNode) {
        const [toX, toY] = position(to);
        const fromX = x + NODE_WIDTH_PX + 7;
        const fromY = y + portY;
        const endY = toY + HEADER_HEIGHT_PX / 2;
        const bend = Math.max(40, Math.abs(toX - fromX) / 2);
        const arrow = element("path", {
          class: "arrow",
          d: `M${fromX},${fromY} C${fromX + bend},${fromY} ${toX - bend},${endY} ${toX},${endY}`,
          "data-from": node.id,
          "data-port": key,
          "data-to": to,
        }, arrows);
        if (mine.some((problem) => problem.key === key)) arrow.classList.add("has-problem");
      }
    });
    let lineY = nodeHeight(node) + 16;
    for (const problem of mine) {
      // Wrapped to the node's width; the lines keep their spaces, so the text reads whole.
      const text = element("text", { class: "problem", x: 0, y: lineY }, group);
      wrap(problem.message, PROBLEM_LINE_CHARS).forEach((line, index) => {
        element("tspan", { x: 0, dy: index ? PROBLEM_LINE_PX : 0 }, text).textContent = line;
        lineY += PROBLEM_LINE_PX;
      });
    }
  }
}

function fillFlowControls() {
  const start = document.getElementById("start");
  start.replaceChildren(...flow.node.map((node) => new Option(node.id, node.id, false, node.id === flow.start)));
  if (!flow.node.some((node) => node.id === flow.start)) start.prepend(new Option("(none)", "", true, true));
  document.getElementById("channel").textContent = `channel: ${flow.channel || "voice"}`;
}

function fieldFor(node, key, value) {
  const id = `key-${key}`;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = key;
  let input;
  if (typeof value === "object" && value !== null) {
    input = document.createElement("textarea");
    input.value = JSON.stringify(value);
  } else if (typeof value === "boolean") {
    input = document.createElement("input");
    input.type = "checkbox";
    input.checked = value;
  } else if (key === "queue" || key === "calendar" || key === "site") {
    const names = key === "queue" ? scenario.queues.map((queue) => queue.name) : scenario[`${key}s`];
    input = document.createElement("select");
    input.append(...["", ...names].map((name) => new Option(name || "(none)", name, false, name === value)));
  } else {
    input = document.createElement("input");
    input.value = value === undefined || value === null ? "" : String(value);
  }
  input.id = id;
  input.name = key;
  input.addEventListener("change", () => {
    if (input.type === "checkbox") {
      node[key] = input.checked;
    } else if (input.tagName === "TEXTAREA") {
      try {
        node[key] = JSON.parse(input.value);
        input.setCustomValidity("");
      } catch (error) {
        input.setCustomValidity(`not JSON: ${error.message}`);
        input.reportValidity();
        return;
      }
    } else if (input.value === "" && (KINDS[node.kind].optional || []).includes(key)) {
      delete node[key];
    } else if (typeof value === "number" || (key === "priority" && /^-?\d+$/.test(input.value))) {
      node[key] = Number(input.value);
    } else {
      node[key] = input.value;
    }
    draw();
  });
  return [label, input];
}

function showForm() {
  const form = document.getElementById("node-form");
  const node = flow.node.find((candidate) => candidate.id === selected);
  form.hidden = !node;
  document.getElementById("no-selection").hidden = Boolean(node);
  if (!node) return;
  const fields = [];
  const idLabel = document.createElement("label");
  idLabel.htmlFor = "key-id";
  idLabel.textContent = `id (a ${node.kind} node)`;
  const idInput = document.createElement("input");
  idInput.id = "key-id";
  idInput.value = node.id;
  idInput.addEventListener("change", () => rename(node, idInput.value.trim()));
  fields.push(idLabel, idInput);
  const keys = Object.keys(node).filter((key) => key !== "kind" && key !== "id");
  for (const key of KINDS[node.kind].optional || []) if (!keys.includes(key)) keys.push(key);
  for (const key of keys) fields.push(...fieldFor(node, key, node[key]));
  const remove = document.createElement("button");
  remove.type = "button";
  remove.id = "delete-node";
  remove.textContent = "Delete node";
  remove.addEventListener("click", () => {
    flow.node = flow.node.filter((other) => other !== node);
    delete flow.layout[node.id];
    select(null);
  });
  fields.push(remove);
  form.replaceChildren(...fields);
}

// A new id for the node, and every reference to it.
function rename(node, id) {
  if (!id || flow.node.some((other) => other.id === id)) return showForm();
  const old = node.id;
  for (const other of flow.node) {
    for (const [key] of portsOf(other)) if (key !== "options.+" && target(other, key) === old) connect(other, key, id);
  }
  if (flow.start === old) flow.start = id;
  flow.layout[id] = position(old);
  delete flow.layout[old];
  node.id = id;
  select(id);
}

function select(id) {
  selected = id;
  fillFlowControls();
  showForm();
  draw();
}

function newId(kind) {
  for (let number = 1; ; number += 1) {
    const id = `${kind}-${number}`;
    if (!flow.node.some((node) => node.id === id)) return id;
  }
}

function addNode(kind, x, y) {
  const node = { kind, id: newId(kind), ...structuredClone(KINDS[kind].keys) };
  const channel = flow.channel || "voice";
  if ("queue" in node) node.queue = (scenario.queues.find((queue) => queue.channel === channel) || { name: "" }).name;
  if ("calendar" in node) node.calendar = scenario.calendars[0] || "";
  if ("site" in node) node.site = scenario.sites[0] || "";
  flow.node.push(node);
  flow.layout = flow.layout || {};
  flow.layout[node.id] = [Math.round(x), Math.round(y)];
  if (!flow.start) flow.start = node.id;
  select(node.id);
}

// The point of a pointer event in the canvas's own pixels (inside its border).
function canvasPoint(event) {
  const canvas = document.getElementById("canvas");
  const box = canvas.getBoundingClientRect();
  return [event.clientX - box.left - canvas.clientLeft, event.clientY - box.top - canvas.clientTop];
}

// One drag at a time, with pointer events: from the palette, a node's box, or a port.
function startDrag(event, onMove, onDrop) {
  event.preventDefault();
  const move = (moved) => onMove(moved);
  const up = (released) => {
    document.removeEventListener("pointermove", move);
    document.removeEventListener("pointerup", up);
    onDrop(released);
  };
  document.addEventListener("pointermove", move);
  document.addEventListener("pointerup", up);
}

function onCanvasPointerDown(event) {
  const group = event.target.closest(".node");
  if (!group) return;
  const node = flow.node.find((candidate) => candidate.id === group.dataset.id);
  const port = event.target.closest(".port");
  if (port) {
    const key = port.dataset.port;
    const [x, y] = position(node.id);
    const fromX = x + NODE_WIDTH_PX;
    const fromY = y + Number(port.getAttribute("cy"));
    const line = element("path", { class: "arrow dragging" }, document.getElementById("canvas"));
    startDrag(event, (moved) => {
      const [toX, toY] = canvasPoint(moved);
      line.setAttribute("d", `M${fromX},${fromY} L${toX},${toY}`);
    }, (released) => {
      line.remove();
      const dropped = document.elementFromPoint(released.clientX, released.clientY);
      const onto = dropped && dropped.closest && dropped.closest(".node");
      if (onto && onto.dataset.id !== node.id) {
        connect(node, key, onto.dataset.id);
        select(node.id);
      }
    });
    return;
  }
  const [startX, startY] = canvasPoint(event);
  const [nodeX, nodeY] = position(node.id);
  let moved = false;
  startDrag(event, (moving) => {
    const [x, y] = canvasPoint(moving);
    moved = true;
    flow.layout[node.id] = [Math.max(0, Math.round(nodeX + x - startX)), Math.max(0, Math.round(nodeY + y - startY))];
    group.setAttribute("transform", `translate(${flow.layout[node.id][0]},${flow.layout[node.id][1]})`);
  }, () => (moved ? draw() : select(node.id)));
}

function onPaletteDown(event) {
  const kind = event.currentTarget.dataset.kind;
  const ghost = event.currentTarget.cloneNode(true);
  ghost.classList.add("ghost");
  ghost.style.position = "fixed";
  ghost.style.pointerEvents = "none";
  document.body.appendChild(ghost);
  const follow = (moved) => {
    ghost.style.left = `${moved.clientX + 4}px`;
    ghost.style.top = `${moved.clientY + 4}px`;
  };
  follow(event);
  startDrag(event, follow, (released) => {
    ghost.remove();
    const box = document.getElementById("canvas").getBoundingClientRect();
    const inside = released.clientX >= box.left && released.clientX <= box.right &&
      released.clientY >= box.top && released.clientY <= box.bottom;
    if (inside) {
      const [x, y] = canvasPoint(released);
      addNode(kind, x - NODE_WIDTH_PX / 2, y - HEADER_HEIGHT_PX / 2);
    }
  });
}

function showProblems(list, good) {
  problems = list;
  const result = document.getElementById("check-result");
  result.className = list.length ? "bad" : "good";
  result.textContent = list.length ? `${list.length} problem${list.length === 1 ? "" : "s"}` : good;
  document.getElementById("problems").replaceChildren(...list.map((problem) => {
    const item = document.createElement("li");
    item.textContent = problem.report;
    if (problem.node) item.dataset.node = problem.node;
    return item;
  }));
  draw();
}

async function sendFlow(method, path, good) {
  const answer = await api(method, path, flow);
  const body = await answer.json().catch(() => ({}));
  if (answer.status === 200 || answer.status === 422) {
    showProblems(body.problems || [], good);
    return answer.status === 200;
  }
  showProblems([], "");
  const result = document.getElementById("check-result");
  result.className = "bad";
  result.textContent = body.error || `refused (${answer.status})`;
  return false;
}

function flowPath(suffix) {
  return `/ivr/flows/${encodeURIComponent(flow.name)}${suffix}`;
}

async function check() {
  await sendFlow("POST", flowPath("/check"), "No problems: switchboard check accepts the file with this flow.");
}

async function save() {
  if (await sendFlow("PUT", flowPath(""), `Saved to ${scenario.file}; used from the next start of the server.`)) {
    setStatus(`${flow.name}: saved to ${scenario.file}`);
  }
}

// Nodes without a position go into a grid below the ones that have one, so none overlap.
function placeMissing() {
  const placed = Object.values(flow.layout);
  let index = 0;
  const top = placed.length ? Math.max(...placed.map(([, y]) => y)) + 170 : 30;
  for (const node of flow.node) {
    if (flow.layout[node.id]) continue;
    flow.layout[node.id] = [30 + (index % 4) * 240, top + Math.floor(index / 4) * 170];
    index += 1;
  }
}

function openFlow(name) {
  flow = scenario.flows.find((candidate) => candidate.name === name);
  flow.layout = flow.layout || {};
  placeMissing();
  problems = [];
  document.getElementById("problems").replaceChildren();
  document.getElementById("check-result").textContent = "";
  select(null);
}

function fillFlowList() {
  const list = document.getElementById("flow");
  list.replaceChildren(...scenario.flows.map((candidate) => new Option(candidate.name, candidate.name, false, candidate === flow)));
}

async function load() {
  const answer = await api("GET", "/ivr/flows");
  if (answer.status !== 200) {
    token = null;
    document.getElementById("login").hidden = false;
    document.getElementById("editor").hidden = true;
    document.getElementById("login-error").textContent =
      answer.status === 403 ? "This token may not change the configuration (an admin's may)." : "The token was not accepted.";
    return;
  }
  scenario = await answer.json();
  setStatus(`${scenario.file}: ${scenario.flows.length} flow${scenario.flows.length === 1 ? "" : "s"}`);
  if (scenario.flows.length) openFlow(scenario.flows[0].name);
  fillFlowList();
}

for (const kind of Object.keys(KINDS)) {
  const item = document.createElement("div");
  item.className = "palette-item";
  item.dataset.kind = kind;
  item.textContent = kind;
  item.addEventListener("pointerdown", onPaletteDown);
  document.getElementById("palette").appendChild(item);
}
document.getElementById("canvas").addEventListener("pointerdown", onCanvasPointerDown);
document.getElementById("flow").addEventListener("change", (event) => openFlow(event.target.value));
document.getElementById("start").addEventListener("change", (event) => {
  flow.start = event.target.value;
  select(selected);
});
document.getElementById("new-flow").addEventListener("click", () => {
  const input = document.getElementById("new-flow-name");
  const name = input.value.trim();
  if (!name || scenario.flows.some((candidate) => candidate.name === name)) return;
  scenario.flows.push({ name, start: "", layout: {}, node: [] });
  input.value = "";
  openFlow(name);
  fillFlowList();
});
// The Connect conversions are the server's (docs/connect-flows.md); what does not map is listed
// like the check's problems.
function showUnmapped(body, status) {
  showProblems([], "");
  const result = document.getElementById("check-result");
  result.className = "bad";
  result.textContent = body.error || `refused (${status})`;
  document.getElementById("problems").replaceChildren(...(body.unmapped || []).map((problem) => {
    const item = document.createElement("li");
    item.textContent = `${problem.id} (${problem.kind}): ${problem.why}`;
    return item;
  }));
}

async function exportConnect() {
  const answer = await api("POST", "/ivr/connect/export", flow);
  const body = await answer.json().catch(() => ({}));
  if (answer.status !== 200) return showUnmapped(body, answer.status);
  document.getElementById("connect-json").value = JSON.stringify(body, null, 2);
  showProblems([], `${flow.name} in the Amazon Connect flow language: below.`);
}

async function importConnect() {
  const name = document.getElementById("new-flow-name").value.trim() || "imported";
  let connect;
  try {
    connect = JSON.parse(document.getElementById("connect-json").value);
  } catch (error) {
    return showUnmapped({ error: `not JSON: ${error.message}` }, 400);
  }
  const answer = await api("POST", "/ivr/connect/import", { name, flow: connect });
  const body = await answer.json().catch(() => ({}));
  if (answer.status !== 200) return showUnmapped(body, answer.status);
  scenario.flows = scenario.flows.filter((candidate) => candidate.name !== name);
  scenario.flows.push(body.flow);
  document.getElementById("new-flow-name").value = "";
  openFlow(name);
  fillFlowList();
  showProblems([], `${name}: read from Connect; Check, then Save to keep it.`);
}

document.getElementById("check").addEventListener("click", check);
document.getElementById("export-connect").addEventListener("click", exportConnect);
document.getElementById("import-connect").addEventListener("click", importConnect);
document.getElementById("save").addEventListener("click", save);
document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("token");
  token = input.value;
  input.value = "";
  document.getElementById("login").hidden = true;
  document.getElementById("editor").hidden = false;
  document.getElementById("login-error").textContent = "";
  await load();
});
