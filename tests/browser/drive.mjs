// Drives the system's chromium for the Rust browser tests, one command per line of standard
// input (JSON), one answer per line of standard output (JSON): the tests keep the steps and
// the assertions, this keeps the browser.
//
//   {"open": URL}                          → {"ok": true}
//   {"fill": SELECTOR, "value": TEXT}      → {"ok": true}
//   {"click": SELECTOR}                    → {"ok": true}
//   {"select": SELECTOR, "value": VALUE}   → {"ok": true}
//   {"wait_text": SELECTOR, "text": TEXT, "timeout_ms": N}
//                                          → {"ok": true, "elapsed_ms": N} or {"ok": false, "text": ...}
//   {"text": SELECTOR}                     → {"ok": true, "text": TEXT}
//   {"drag": SELECTOR, "to": SELECTOR, "x": N, "y": N}
//                                          → {"ok": true} (x, y: the drop point in the target;
//                                            its centre when absent)
//   {"screenshot": PATH}                   → {"ok": true}
//   {"errors": true}                       → {"ok": true, "errors": [console errors, page errors]}
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
// BROWSER_TIME_ZONE: the page's time zone (an IANA name), for pages that show local times.
const page = await browser.newPage({
  viewport: { width: 1600, height: 900 },
  timezoneId: process.env.BROWSER_TIME_ZONE || undefined,
});
const errors = [];
page.on("console", (message) => {
  if (message.type() === "error") errors.push(message.text());
});
page.on("pageerror", (error) => errors.push(String(error)));

function answer(value) {
  process.stdout.write(JSON.stringify(value) + "\n");
}

async function waitFor(selector, read, expected, timeoutMs) {
  const start = Date.now();
  let last = null;
  while (Date.now() - start <= timeoutMs) {
    last = await page.locator(selector).first().evaluate(read).catch(() => null);
    if (last === expected) return { ok: true, elapsed_ms: Date.now() - start };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { ok: false, text: last };
}

async function run(command) {
  if ("open" in command) {
    await page.goto(command.open);
    return { ok: true };
  }
  if ("fill" in command) {
    await page.fill(command.fill, command.value);
    return { ok: true };
  }
  if ("select" in command) {
    await page.selectOption(command.select, command.value);
    return { ok: true };
  }
  if ("click" in command) {
    await page.click(command.click);
    return { ok: true };
  }
  if ("drag" in command) {
    const targetPosition = "x" in command ? { x: command.x, y: command.y } : undefined;
    await page.dragAndDrop(command.drag, command.to, { targetPosition });
    return { ok: true };
  }
  if ("wait_text" in command) {
    return waitFor(command.wait_text, (node) => node.textContent.trim(), command.text,
      command.timeout_ms);
  }
  if ("text" in command) {
    return { ok: true, text: (await page.locator(command.text).first().textContent()).trim() };
  }
  if ("screenshot" in command) {
    await page.screenshot({ path: command.screenshot, fullPage: true });
    return { ok: true };
  }
  if ("errors" in command) {
    return { ok: true, errors };
  }
  return { ok: false, error: `unknown command ${JSON.stringify(command)}` };
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  try {
    answer(await run(JSON.parse(line)));
  } catch (error) {
    answer({ ok: false, error: String(error) });
  }
}
await browser.close();
