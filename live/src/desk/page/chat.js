// The desk's chat pane: the agent's chat socket (frames in docs/channels.md), opened with a
// one-use ticket because a browser's WebSocket cannot send the bearer token (docs/web.md).
// Offers come with their transcript so far, to accept or decline; each chat the agent holds
// is a card with its transcript, a reply box and a close button, as many as its capacity.
// E-mail/ticket contacts come on the same socket with the same frames: their cards show the
// subject, the body and the due time instead of a conversation.
// Loaded after desk.js, whose `api`, `agentPath` and `setText` it uses.
"use strict";

let chatSocket = null;
// Contact id → { channel, customer, entry, queue, state, transcript: [{from, text,
// sent_unix_ms}], unsent: texts sent and not yet confirmed by a `sent` frame, in order;
// an e-mail's subject, body and dueUnixMs, its transcript then holding the replies only }.
const chats = new Map();

function element(tag, attributes, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(className, text, onClick) {
  const node = element("button", { type: "button", class: className }, text);
  node.addEventListener("click", onClick);
  return node;
}

function sendFrame(frame) {
  if (chatSocket && chatSocket.readyState === WebSocket.OPEN) {
    chatSocket.send(JSON.stringify({ v: 1, ...frame }));
  } else {
    setText("#chat-error", "The chat connection is down: take chats again.");
  }
}

function transcriptList(chat) {
  const list = element("ol", { class: "transcript" });
  for (const line of chat.transcript) {
    const who = line.from === "agent" ? "you" : chat.customer || "customer";
    const item = element("li", { class: `from-${line.from}` });
    item.append(element("span", { class: "who" }, `${who}, ${clock(line.sent_unix_ms, true)}`));
    item.append(element("span", { class: "text" }, line.text));
    list.append(item);
  }
  return list;
}

// A span of time in whole hours and minutes, the one way the desk writes one ("3 h 20 min").
function hoursAndMinutes(ms) {
  const minutes = Math.floor(Math.abs(ms) / 60000);
  const hours = Math.floor(minutes / 60);
  return hours > 0 ? `${hours} h ${minutes % 60} min` : `${minutes} min`;
}

// A date and time of day in the agent's own time zone, named by its offset: a due time
// may be days away, and the agent plans in local time.
function localTime(unixMs) {
  const at = new Date(unixMs);
  const two = (number) => String(number).padStart(2, "0");
  const offset = -at.getTimezoneOffset();
  const size = Math.abs(offset);
  const zone = offset === 0 ? "UTC"
    : `UTC${offset < 0 ? "-" : "+"}${Math.floor(size / 60)}${size % 60 ? `:${two(size % 60)}` : ""}`;
  return `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ` +
    `${two(at.getHours())}:${two(at.getMinutes())} ${zone}`;
}

function dueText(dueUnixMs) {
  if (typeof dueUnixMs !== "number") return "No due time";
  const left = dueUnixMs - Date.now();
  const when = left >= 0 ? `due in ${hoursAndMinutes(left)}` : `overdue by ${hoursAndMinutes(left)}`;
  return `Due ${localTime(dueUnixMs)} · ${when}`;
}

// The time left changes while the card stays: every due line is rewritten each 20 s.
setInterval(() => {
  for (const line of document.querySelectorAll(".due[data-due-unix-ms]")) {
    line.textContent = dueText(Number(line.dataset.dueUnixMs));
  }
}, 20000);

// What an e-mail card shows above its replies: who wrote, the due time and the body, as text.
function emailDetails(card, chat) {
  card.append(element("p", { class: "from" }, `From ${chat.customer || "an unnamed sender"} · ${chat.queue}`));
  const due = element("p", { class: "due" }, dueText(chat.dueUnixMs));
  if (typeof chat.dueUnixMs === "number") due.dataset.dueUnixMs = String(chat.dueUnixMs);
  card.append(due, element("div", { class: "body" }, chat.body));
}

function offerCard(contact, chat) {
  const email = chat.channel === "email";
  const card = element("article", { id: `offer-${contact}`, class: email ? "chat offer email" : "chat offer" });
  if (email) {
    card.append(element("h3", {}, `E-mail offered: ${chat.subject}`));
    emailDetails(card, chat);
  } else {
    card.append(element("h3", {}, `Chat offered: ${chat.customer || "a customer"} on ${chat.entry} (${chat.queue})`));
    card.append(transcriptList(chat));
  }
  card.append(button("accept", "Accept", () => sendFrame({ type: "accept", contact })));
  // Declined, the chat is nobody's until the engine offers it again (maybe here: a new offer).
  card.append(button("decline", "Decline", () => {
    sendFrame({ type: "decline", contact });
    chats.delete(contact);
    drawChats();
  }));
  return card;
}

const STATE_WORDS = { connected: "connected", "wrap-up": "after-contact work", closed: "closed" };

function chatCard(contact, chat) {
  const email = chat.channel === "email";
  const card = element("article", { id: `chat-${contact}`, class: `chat ${chat.state}${email ? " email" : ""}` });
  const by = chat.state === "closed" && chat.closedBy ? ` by ${chat.closedBy}` : "";
  const kind = email ? "e-mail" : "chat";
  const title = email ? chat.subject : chat.customer || "Customer";
  card.append(element("h3", {},
    `${title} · ${chat.queue} · ${kind} ${contact}: ${STATE_WORDS[chat.state]}${by}`));
  if (email) emailDetails(card, chat);
  card.append(transcriptList(chat));
  if (chat.state === "connected") {
    const form = element("form", { class: "reply" });
    // An e-mail's reply is a letter: several lines, sent with the button.
    const input = email
      ? element("textarea", { name: "text", "aria-label": `Reply to e-mail ${contact}`, rows: "4", required: "" })
      : element("input", { name: "text", "aria-label": `Reply to chat ${contact}`, autocomplete: "off", required: "" });
    form.append(input, element("button", { type: "submit", class: "send" }, email ? "Send reply" : "Send"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!input.value) return;
      chat.unsent.push(input.value);
      sendFrame({ type: "message", contact, text: input.value });
      input.value = "";
    });
    card.append(form, button("close", `Close the ${kind}`, () => sendFrame({ type: "close", contact })));
  } else if (chat.state === "wrap-up") {
    card.append(button("wrap-up-done", "Finish after-contact work",
      () => sendFrame({ type: "wrap-up-done", contact })));
  } else {
    card.append(button("dismiss", "Dismiss", () => { chats.delete(contact); drawChats(); }));
  }
  return card;
}

// Redraw the cards, keeping the text being typed and where it was typed.
function drawChats() {
  const typing = new Map();
  for (const input of document.querySelectorAll("#chats [name=text]")) {
    typing.set(input.closest("article").id, input.value);
  }
  const focused = document.activeElement && document.activeElement.closest("#chats article");
  const offers = [];
  const open = [];
  for (const [contact, chat] of [...chats].sort((a, b) => a[0] - b[0])) {
    if (chat.state === "offered") offers.push(offerCard(contact, chat));
    else open.push(chatCard(contact, chat));
  }
  document.getElementById("offers").replaceChildren(...offers);
  document.getElementById("chats").replaceChildren(...open);
  for (const [id, value] of typing) {
    const input = document.querySelector(`#${id} [name=text]`);
    if (input) input.value = value;
  }
  if (focused) {
    const input = document.querySelector(`#${focused.id} [name=text]`);
    if (input) input.focus();
  }
  for (const list of document.querySelectorAll("#chats .transcript")) list.scrollTop = list.scrollHeight;
}

function receive(frame) {
  const chat = chats.get(frame.contact);
  switch (frame.type) {
    case "offer": {
      const email = frame.channel === "email";
      chats.set(frame.contact, {
        channel: frame.channel,
        customer: frame.attributes.customer,
        entry: frame.attributes.entry_point,
        queue: frame.queue,
        state: "offered",
        // An e-mail's body is its transcript's first line: shown once, as the body.
        transcript: email ? frame.transcript.slice(1) : frame.transcript,
        subject: frame.subject,
        body: frame.body,
        dueUnixMs: frame.due_unix_ms,
        unsent: [],
      });
      break;
    }
    case "offer-withdrawn":
      chats.delete(frame.contact);
      setText("#chat-status", `Chat ${frame.contact} is no longer offered.`);
      break;
    case "connected":
      if (chat) chat.state = "connected";
      break;
    case "message":
      if (chat) chat.transcript.push(frame);
      break;
    case "sent":
      if (chat && chat.unsent.length) {
        // A reply with masked words reached the customer as `frame.text`: shown as delivered.
        const written = chat.unsent.shift();
        const text = frame.masked ? frame.text : written;
        chat.transcript.push({ from: "agent", text, sent_unix_ms: frame.sent_unix_ms });
      }
      break;
    case "blocked":
      // The reply went to nobody and is in no transcript: it leaves the queue of replies
      // waiting for their `sent`, and the agent is told (the frame names no word).
      if (chat && chat.unsent.length) chat.unsent.shift();
      drawChats();
      setText("#chat-error", `Chat ${frame.contact}: ${frame.reason}.`);
      return;
    case "wrap-up":
      if (chat) chat.state = "wrap-up";
      break;
    case "closed":
      if (frame.contact === undefined) {
        setText("#chat-status", `Chats stopped: ${frame.reason}.`);
      } else if (chat) {
        chat.state = "closed";
        chat.closedBy = frame.by;
      }
      break;
    case "error":
      setText("#chat-error", frame.error);
      return;
    default:
      return;
  }
  setText("#chat-error", "");
  drawChats();
}

function showTakingChats(taking) {
  document.getElementById("chat-start").hidden = taking;
  document.getElementById("chat-stop").hidden = !taking;
}

async function startChats() {
  setText("#chat-error", "");
  const answer = await api("POST", agentPath("chat/ticket"));
  if (answer.status !== 200) {
    const error = await answer.json().catch(() => ({}));
    setText("#chat-error", error.error || `no chat ticket (${answer.status})`);
    return;
  }
  const { ticket } = await answer.json();
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(
    `${scheme}//${location.host}${agentPath("chat")}?ticket=${encodeURIComponent(ticket)}`);
  chatSocket = socket;
  showTakingChats(true);
  setText("#chat-status", "Connecting…");
  socket.addEventListener("open", () => setText("#chat-status", "Taking chats."));
  socket.addEventListener("message", (event) => receive(JSON.parse(event.data)));
  socket.addEventListener("close", () => {
    if (chatSocket !== socket) return;
    chatSocket = null;
    showTakingChats(false);
    for (const [contact, chat] of chats) {
      if (chat.state === "offered") chats.delete(contact);
      else chat.state = "closed";
    }
    drawChats();
    if (!document.getElementById("chat-status").textContent.startsWith("Chats stopped")) {
      setText("#chat-status", "Not taking chats.");
    }
  });
}

// Closing the socket ends the chats in conversation and logs the agent out
// (docs/channels.md): the page says so on the button's side, the switch does it.
function stopChats() {
  if (chatSocket) chatSocket.close();
}

document.getElementById("chat-start").addEventListener("click", startChats);
document.getElementById("chat-stop").addEventListener("click", stopChats);
