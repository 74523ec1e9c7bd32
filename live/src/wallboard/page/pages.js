// What the wallboard and the agent desk both show (docs/web.md): loaded before either page's
// own script, so that a time of day and an agent's state read the same on both.
"use strict";

// Times of day in UTC, as the interval and the day are counted.
function clock(unixMs, withSeconds) {
  return new Date(unixMs).toISOString().slice(11, withSeconds ? 19 : 16) + " UTC";
}

// An agent's state as the pages show it: [the Amazon Connect activity the wallboard groups it
// under, the words for it].
function activity(state) {
  if (typeof state === "object" && state !== null && "aux" in state) {
    return ["non-productive", `aux: ${state.aux}`];
  }
  switch (state) {
    case "available": return ["available", "available"];
    case "reserved": return ["on-contact", "ringing"];
    case "busy": return ["on-contact", "on contact"];
    case "wrap-up": return ["after-contact-work", "after-contact work"];
    default: return ["offline", "offline"];
  }
}
