// The web console in a real browser (Debian's chromium, driven by playwright-core) against
// `taskstream all` with a real broker: sign-in, the task form with its live preview and field
// errors, the recurrence role's next occurrence arriving live, two tabs seeing each other,
// a stale edit rolled back, deletion of a task and of a whole series, the counts beside the
// filters, the webhook with its test call, a reminder as a browser notification (and as an
// in-page message when notifications are refused), accessibility (axe-core), phone width and
// dark mode. Screenshots go to $CONSOLE_SCREENSHOTS.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { startServer, waitFor } from "./server.mjs";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const SHOTS = process.env.CONSOLE_SCREENSHOTS || join(tmpdir(), "taskstream-console-screenshots");
/** Deadline of anything that crosses the broker (relay, a role, the live stream). Deadlines
 * are upper bounds only: generous, because a shared machine can be slow (a loaded PostgreSQL
 * once took over 5 s to answer a DELETE here). */
const FLOW_MS = 60000;
/** Deadline of what the page does with one or two API calls. */
const UI_MS = 30000;
const ZONE = "Europe/Berlin";
const USER = `console-${process.pid}`;

let server;
let browser;
let page;

/** Records every Notification the page creates (the permission is granted to the context). */
function captureNotifications() {
  window.__notifications = [];
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, options = {}) {
      super(title, options);
      window.__notifications.push({ title, body: options.body });
    }
  };
}

/** A tab in a context of its own; with `notifications: false` it is not granted notifications. */
async function newPage({ notifications = true, ...options } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...options });
  if (notifications) await context.grantPermissions(["notifications"], { origin: server.base });
  const tab = await context.newPage();
  await tab.addInitScript(captureNotifications);
  const errors = [];
  tab.on("pageerror", (error) => errors.push(error.message));
  tab.on("console", (message) => { if (message.type() === "error") errors.push(message.text()); });
  tab.errors = errors;
  return tab;
}

async function signIn(tab) {
  await tab.goto(server.base);
  await tab.getByLabel("User name").fill(USER);
  await tab.getByRole("button", { name: "Sign in on this machine" }).click();
  await tab.getByText(`signed in as ${USER}`).waitFor({ timeout: UI_MS });
  await waitFor("the live stream to connect", UI_MS, () => tab.locator("#live[data-state=on]").count());
}

/** Calls the API as the signed-in user of `tab` ("another device"). */
async function api(tab, method, path, body, headers = {}) {
  const token = await tab.evaluate(() => sessionStorage.getItem("taskstream.token"));
  const response = await fetch(`${server.base}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...headers },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** A wall-clock time in ZONE, as the form's datetime-local inputs take it. */
function wallIn(ms, seconds = false) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
    timeZone: ZONE, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  const wall = `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
  return seconds ? `${wall}:${parts.second}` : wall;
}

function row(tab, title) {
  return tab.locator("#task-list li", { has: tab.getByText(title, { exact: true }) });
}

/**
 * Clicks the checkbox of task `id`'s row once. Not check(): the click redraws the row, and
 * check() then retries on whatever row matches its locator — by title, the next occurrence,
 * which it would complete too, and the one after (seen as a runaway series on a loaded machine).
 */
async function toggleRow(tab, id) {
  await tab.locator(`#task-list li[data-id="${id}"] input[type="checkbox"]`).click();
}

/** A control of the task form by its label. */
function field(tab, label) {
  return tab.locator("#editor").getByLabel(label, { exact: true });
}

async function openForm(tab) {
  await tab.getByRole("button", { name: "New task" }).click();
  await field(tab, "Title").waitFor({ timeout: UI_MS });
}

/** The count a filter choice shows beside its label ("Open (3)" → 3), or null. */
async function shownCount(locator) {
  const match = /\((\d+)\)$/.exec((await locator.textContent()).trim());
  return match ? Number(match[1]) : null;
}

/** The counts beside the filters, as the page shows them. */
async function shownCounts(tab) {
  const option = (select, value) => tab.locator(`#${select} option[value="${value}"]`);
  return {
    open: await shownCount(option("f-status", "open")),
    completed: await shownCount(option("f-status", "completed")),
    overdue: await shownCount(tab.locator("#f-overdue-label")),
    urgent: await shownCount(option("f-priority", "urgent")),
  };
}

/** A webhook receiver on 127.0.0.1 that records each call and answers 200. */
async function startReceiver() {
  const calls = [];
  const http = createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      calls.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(200).end();
    });
  });
  await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
  const close = () => {
    http.close();
    http.closeAllConnections(); // a kept-alive connection would still take calls
  };
  return { url: `http://127.0.0.1:${http.address().port}/hook`, calls, close };
}

/** Keeps the server's log beside the screenshots and shows its warnings and errors, so a
 * failure that crossed the broker or a role can be explained from the test's own output. */
function keepServerLog(log) {
  mkdirSync(SHOTS, { recursive: true });
  writeFileSync(join(SHOTS, "server.log"), `${log.join("\n")}\n`);
  const problems = log.filter((line) => /"level":"(WARN|ERROR)"/.test(line)).slice(-40);
  console.log(`server log: ${join(SHOTS, "server.log")}; its last ${problems.length} warnings and errors:`);
  for (const line of problems) console.log(`  ${line.slice(0, 400)}`);
}

async function shot(tab, name) {
  mkdirSync(SHOTS, { recursive: true });
  await tab.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

describe("web console", { timeout: 150000 }, () => {
  before(async () => {
    server = await startServer();
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-dev-shm-usage"],
      timeout: 30000,
    });
    page = await newPage();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    console.log(`screenshots: ${SHOTS}`);
    if (server) keepServerLog(server.log);
  });

  it("loads small and fast, signs in locally and keeps the token out of the URL", async () => {
    let bytes = 0;
    const count = (response) => response.body().then((body) => { bytes += body.length; }, () => {});
    page.on("response", count);
    const started = Date.now();
    await page.goto(server.base);
    await page.getByRole("button", { name: "Sign in on this machine" }).waitFor({ timeout: UI_MS });
    const interactive = Date.now() - started;
    page.off("response", count);
    const usable = await page.evaluate(() => Math.round(performance.getEntriesByName("console-usable")[0].startTime));
    console.log(`first load: ${bytes} bytes; sign-in usable ${usable} ms after navigation began (${interactive} ms as the test saw it)`);
    assert.ok(bytes < 200 * 1024, `first load is ${bytes} bytes`);
    await signIn(page);
    assert.ok(!page.url().includes("ey"), "no token in the URL");
    assert.ok(await page.evaluate(() => sessionStorage.getItem("taskstream.token")), "the token is in sessionStorage");
  });

  it("creates a repeating task with a reminder and previews its occurrences from the API", async () => {
    await openForm(page);
    const tomorrow = wallIn(Date.now() + 86400000).slice(0, 10);
    await field(page, "Title").fill("Water the plants");
    await field(page, "Tags").fill("home garden");
    await field(page, "Priority").selectOption("high");
    await field(page, "Time zone").fill(ZONE);
    await field(page, "Due").fill(`${tomorrow}T09:00`);
    await field(page, "15 min before").check();
    await field(page, "Repeats").selectOption("daily");
    await waitFor("the preview of five daily occurrences", UI_MS, async () => (await page.locator("#preview li").count()) === 5);
    assert.equal(await field(page, "Rule (RFC 5545 RRULE)").inputValue(), "FREQ=DAILY");
    await field(page, "Repeats").selectOption("weekly");
    await field(page, "Mon").check();
    await field(page, "Thu").check();
    await waitFor("the rule to follow the chosen days", UI_MS, async () =>
      (await field(page, "Rule (RFC 5545 RRULE)").inputValue()) === "FREQ=WEEKLY;BYDAY=MO,TH");
    await field(page, "Repeats").selectOption("daily");
    await waitFor("the preview to show the daily rule again", UI_MS, async () =>
      (await page.locator("#preview li").count()) === 5 && (await page.locator("#preview li").nth(1).innerText()).includes("09:00"));
    await shot(page, "desktop-form");
    await page.getByRole("button", { name: "Create" }).click();
    await row(page, "Water the plants").waitFor({ timeout: UI_MS });
    const { body } = await api(page, "GET", "/tasks?q=water");
    const task = body.items[0];
    assert.equal(task.recurrence, "FREQ=DAILY");
    assert.equal(task.time_zone, ZONE);
    assert.deepEqual(task.reminders, ["-PT15M"]);
    assert.deepEqual(task.tags, ["home", "garden"]);
    const local = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, hour: "2-digit", minute: "2-digit" }).format(new Date(task.due_at));
    assert.equal(local, "09:00", "09:00 in the chosen zone");
    await page.locator("#d-reminders").getByText("pending").waitFor({ timeout: UI_MS });
  });

  it("shows the API's field errors beside their fields", async () => {
    await openForm(page);
    await field(page, "Due").fill("2031-01-06T09:00");
    await field(page, "Rule (RFC 5545 RRULE)").fill("FREQ=HOURLY");
    await page.locator("#err-recurrence").filter({ hasText: /\S/ }).waitFor({ timeout: UI_MS });
    assert.equal(await field(page, "Rule (RFC 5545 RRULE)").getAttribute("aria-invalid"), "true");
    await field(page, "Title").fill("   ");
    await page.getByRole("button", { name: "Create" }).click();
    await page.locator("#err-title").filter({ hasText: /empty/ }).waitFor({ timeout: UI_MS });
    assert.equal(await field(page, "Title").getAttribute("aria-invalid"), "true");
    const described = await field(page, "Title").getAttribute("aria-describedby");
    assert.equal(described, "err-title", "the error is tied to its field for screen readers");
    await shot(page, "desktop-field-errors");
    await page.getByRole("button", { name: "Cancel" }).click();
  });

  it("completing a repeating task brings its next occurrence in live", async () => {
    const first = await api(page, "GET", "/tasks?q=water");
    const original = first.body.items[0];
    await toggleRow(page, original.id);
    await waitFor("the next occurrence from the recurrence role in the list", FLOW_MS, async () => {
      const ids = await row(page, "Water the plants").evaluateAll((rows) => rows.map((r) => r.dataset.id));
      return ids.length === 1 && ids[0] !== original.id;
    });
    const next = (await api(page, "GET", "/tasks?q=water&status=open")).body.items[0];
    assert.equal(Date.parse(next.due_at) - Date.parse(original.due_at), 86400000, "one day later");
    assert.equal(next.occurrence, 2);
  });

  it("a completion answered after its live events does not bring the completed row back", async () => {
    const due = new Date(Date.now() + 86400000).toISOString();
    const first = (await api(page, "POST", "/tasks", { title: "Sweep the yard", due_at: due, recurrence: "FREQ=DAILY" })).body;
    await row(page, "Sweep the yard").waitFor({ timeout: FLOW_MS });
    // The answer to the completion is held until the next occurrence has come in live, as
    // when the answer is slower than the events (a loaded machine).
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await page.route("**/api/v1/tasks/*/complete", async (route) => {
      const response = await route.fetch();
      await held;
      await route.fulfill({ response });
    });
    // Counts the page's completions answered, one task after the page took the answer in
    // (the microtasks that handle it run before any timer).
    await page.evaluate(() => {
      window.__completions = 0;
      const real = window.fetch;
      window.fetch = async (...args) => {
        const response = await real(...args);
        if (String(args[0]).endsWith("/complete")) {
          const text = response.text.bind(response);
          response.text = async () => {
            const body = await text();
            setTimeout(() => { window.__completions += 1; }, 0);
            return body;
          };
        }
        return response;
      };
    });
    try {
      await toggleRow(page, first.id);
      const ids = () => row(page, "Sweep the yard").evaluateAll((rows) => rows.map((r) => r.dataset.id));
      await waitFor("the next occurrence in the list", FLOW_MS, async () => (await ids()).some((id) => id !== first.id));
      release();
      await waitFor("the held answer to be taken in", UI_MS, () => page.evaluate(() => window.__completions === 1));
      const shown = await ids();
      assert.equal(shown.length, 1, `one row, the next occurrence: ${shown}`);
      assert.notEqual(shown[0], first.id);
    } finally {
      release();
      await page.unroute("**/api/v1/tasks/*/complete");
    }
  });

  it("two tabs of the same user see each other's changes", async () => {
    const other = await newPage();
    await signIn(other);
    await openForm(other);
    await field(other, "Title").fill("Made in the other tab");
    const started = Date.now();
    await other.getByRole("button", { name: "Create" }).click();
    await row(page, "Made in the other tab").waitFor({ timeout: FLOW_MS });
    console.log(`a change in one tab showed in the other after ${Date.now() - started} ms`);
    const id = await row(page, "Made in the other tab").getAttribute("data-id");
    const changedAt = Date.now();
    const { status } = await api(page, "PATCH", `/tasks/${id}`, { title: "Renamed through the API" });
    assert.equal(status, 200);
    await row(other, "Renamed through the API").waitFor({ timeout: FLOW_MS });
    console.log(`an API change showed in a tab after ${Date.now() - changedAt} ms`);
    await other.context().close();
  });

  it("an edit of a task changed meanwhile is rolled back (412)", async () => {
    await row(page, "Renamed through the API").getByRole("button").click();
    await page.getByRole("button", { name: "Edit" }).click();
    await field(page, "Title").fill("My edit");
    const id = await row(page, "Renamed through the API").getAttribute("data-id");
    assert.equal((await api(page, "PATCH", `/tasks/${id}`, { title: "Their edit" })).status, 200);
    await row(page, "Their edit").waitFor({ timeout: FLOW_MS });
    await page.getByRole("button", { name: "Save" }).click();
    await page.locator("#err-form").filter({ hasText: "changed elsewhere" }).waitFor({ timeout: UI_MS });
    assert.equal(await field(page, "Title").inputValue(), "Their edit", "the form shows the current version");
    await row(page, "Their edit").waitFor({ timeout: UI_MS });
    assert.equal(await row(page, "My edit").count(), 0, "the optimistic title was rolled back");
    assert.equal((await api(page, "GET", `/tasks/${id}`)).body.title, "Their edit");
    await page.getByRole("button", { name: "Cancel" }).click();
  });

  it("deletes a task", async () => {
    await row(page, "Their edit").getByRole("button").click();
    const id = await row(page, "Their edit").getAttribute("data-id");
    await page.locator("#detail").getByRole("button", { name: "Delete" }).click();
    await waitFor("the row to go", UI_MS, async () => (await row(page, "Their edit").count()) === 0);
    await waitFor("the API to answer 404", UI_MS, async () => (await api(page, "GET", `/tasks/${id}`)).status === 404);
  });

  it("shows the counts beside the filters and keeps them fresh live", async () => {
    const expected = async () => {
      const { body } = await api(page, "GET", "/tasks/counts");
      return { open: body.open, completed: body.completed, overdue: body.overdue, urgent: body.open_by_priority.urgent };
    };
    const matches = async () => {
      const [shown, wanted] = [await shownCounts(page), await expected()];
      return JSON.stringify(shown) === JSON.stringify(wanted) ? wanted : false;
    };
    const before = await waitFor("the counts beside the filters to match the API's", UI_MS, matches);
    // Another device adds an urgent task already overdue: every count it touches follows live.
    const late = await api(page, "POST", "/tasks", { title: "Overdue and urgent", priority: "urgent", due_at: new Date(Date.now() - 3600000).toISOString() });
    assert.equal(late.status, 201);
    await waitFor("the counts to take the new task in", FLOW_MS, async () => {
      const shown = await shownCounts(page);
      return shown.open === before.open + 1 && shown.overdue === before.overdue + 1 && shown.urgent === before.urgent + 1;
    });
    await shot(page, "desktop-counts");
    // The live row went where the API's order puts it (the list is sorted by due time).
    const listed = (await api(page, "GET", "/tasks?status=open&sort=due_at&order=asc")).body.items.map((t) => t.id);
    assert.deepEqual(await page.locator("#task-list li").evaluateAll((rows) => rows.map((r) => r.dataset.id)), listed);
    assert.equal((await api(page, "POST", `/tasks/${late.body.id}/complete`)).status, 200);
    await waitFor("the counts to follow its completion", FLOW_MS, async () => {
      const shown = await shownCounts(page);
      return shown.open === before.open && shown.overdue === before.overdue && shown.completed === before.completed + 1;
    });
    assert.deepEqual(await shownCounts(page), await expected());
  });

  it("skips an occurrence of a repeating task", async () => {
    const before = (await api(page, "GET", "/tasks?q=water&status=open")).body.items[0];
    await row(page, "Water the plants").getByRole("button").click();
    const shown = await row(page, "Water the plants").innerText();
    await page.getByRole("button", { name: "Skip this occurrence" }).click();
    await waitFor("the task to move to its next due time", UI_MS, async () => {
      const now = (await api(page, "GET", `/tasks/${before.id}`)).body;
      return Date.parse(now.due_at) - Date.parse(before.due_at) === 86400000;
    });
    await waitFor("the row to show the new due time", UI_MS, async () => (await row(page, "Water the plants").innerText()) !== shown);
  });

  it("deletes the whole series of a repeating task", async () => {
    const due = new Date(Date.now() + 2 * 86400000).toISOString();
    const first = await api(page, "POST", "/tasks", { title: "Feed the cat", due_at: due, recurrence: "FREQ=DAILY", time_zone: ZONE });
    assert.equal(first.status, 201);
    await row(page, "Feed the cat").waitFor({ timeout: FLOW_MS });
    // Completing brings the second occurrence: the series is alive.
    await toggleRow(page, first.body.id);
    await waitFor("the second occurrence in the list", FLOW_MS, async () => {
      const ids = await row(page, "Feed the cat").evaluateAll((rows) => rows.map((r) => r.dataset.id));
      return ids.length === 1 && ids[0] !== first.body.id;
    });
    const second = await row(page, "Feed the cat").getAttribute("data-id");
    await row(page, "Feed the cat").getByRole("button").click();
    await page.locator("#detail").getByRole("button", { name: "Delete the series" }).click();
    await waitFor("the row to go", UI_MS, async () => (await row(page, "Feed the cat").count()) === 0);
    await page.locator("#panel-hint").filter({ hasText: "deleted" }).waitFor({ timeout: UI_MS });
    assert.equal((await api(page, "GET", `/tasks/${second}`)).status, 404);
    // Once the deletion has gone through the broker (the audit role recorded it), nothing of
    // the series is open and no further occurrence appeared, in the API or in the list.
    await waitFor("the audit role to record the deletion", FLOW_MS, async () => {
      const { body } = await api(page, "GET", `/tasks/${second}/history`);
      return body.some((entry) => entry.event_type === "task.deleted");
    });
    const left = (await api(page, "GET", "/tasks?q=feed%20cat")).body.items;
    assert.deepEqual(left.map((t) => [t.id, t.status]), [[first.body.id, "completed"]], "only the completed first occurrence is left");
    assert.equal(await row(page, "Feed the cat").count(), 0);
  });

  it("sets the reminder webhook, shows its secret once, and removes it", async () => {
    await page.getByRole("button", { name: "Webhook" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("URL").fill("http://10.0.0.1/hook");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.locator("#err-url").filter({ hasText: /\S/ }).waitFor({ timeout: UI_MS });
    const receiver = await startReceiver();
    try {
      await dialog.getByLabel("URL").fill(receiver.url);
      await dialog.getByRole("button", { name: "Save" }).click();
      const secret = dialog.getByLabel("Signing secret (shown this once)");
      await secret.waitFor({ timeout: UI_MS });
      assert.match(await secret.inputValue(), /^whsec_/);
      assert.equal((await api(page, "GET", "/webhook")).body.url, receiver.url);
      await dialog.getByRole("button", { name: "Send a test call" }).click();
      await dialog.locator("#w-test-result").filter({ hasText: /delivered: the receiver answered 200 in \d+ ms/ })
        .waitFor({ timeout: UI_MS });
      await shot(page, "desktop-webhook-test");
      assert.equal(receiver.calls.length, 1, "one test call");
      const [{ headers, body }] = receiver.calls;
      assert.equal(JSON.parse(body).type, "webhook.test");
      const t = /^t=(\d+),/.exec(headers["x-taskstream-signature"])[1];
      const mac = createHmac("sha256", await secret.inputValue()).update(`${t}.${body}`).digest("hex");
      assert.equal(headers["x-taskstream-signature"], `t=${t},v1=${mac}`, "signed with the secret shown");
    } finally {
      receiver.close();
    }
    await dialog.getByRole("button", { name: "Send a test call" }).click();
    await dialog.locator("#w-test-result").filter({ hasText: /not delivered/ }).waitFor({ timeout: UI_MS });
    await dialog.getByRole("button", { name: "Remove" }).click();
    await dialog.getByText("No webhook is set.").waitFor({ timeout: UI_MS });
    assert.equal((await api(page, "GET", "/webhook")).status, 404);
    await dialog.getByRole("button", { name: "Close" }).click();
  });

  it("a reminder fires as a browser notification", async () => {
    await openForm(page);
    await field(page, "Title").fill("Call the plumber");
    await field(page, "Time zone").fill(ZONE);
    await field(page, "Due").fill(wallIn(Date.now() + 3600000));
    await field(page, "At an exact time (in the task's time zone)").fill(wallIn(Date.now() + 4000, true));
    await page.getByRole("button", { name: "Create" }).click();
    const note = await waitFor("the reminder's notification", FLOW_MS, () =>
      page.evaluate(() => window.__notifications.find((n) => n.title === "Call the plumber")));
    assert.match(note.body, /Reminder/);
  });

  it("shows a fired reminder in the page when notifications are refused", async () => {
    const refused = await newPage({ notifications: false });
    await signIn(refused);
    // Headless Chromium may answer "denied" before anyone asks; otherwise the request is refused.
    const asked = await refused.evaluate(() => Notification.permission);
    if (asked === "default") {
      await refused.getByRole("button", { name: "Enable notifications" }).click();
      await refused.locator("#toasts").getByText("Reminders will show here in the page.").waitFor({ timeout: UI_MS });
    }
    const permission = await refused.evaluate(() => Notification.permission);
    console.log(`notification permission: ${asked} before asking, ${permission} after`);
    assert.notEqual(permission, "granted");
    await openForm(refused);
    await field(refused, "Title").fill("Take the bins out");
    await field(refused, "Time zone").fill(ZONE);
    await field(refused, "Due").fill(wallIn(Date.now() + 3600000));
    await field(refused, "At an exact time (in the task's time zone)").fill(wallIn(Date.now() + 4000, true));
    await refused.getByRole("button", { name: "Create" }).click();
    await refused.locator("#toasts .toast.reminder").filter({ hasText: "Reminder: Take the bins out" })
      .waitFor({ timeout: FLOW_MS });
    await shot(refused, "desktop-reminder-toast");
    assert.deepEqual(await refused.evaluate(() => window.__notifications), [], "no browser notification");
    await refused.context().close();
  });

  it("has no serious accessibility violations and works by keyboard", async () => {
    await page.evaluate(AXE);
    const results = await page.evaluate(() => window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "best-practice"] }));
    const serious = results.violations.filter((v) => ["serious", "critical"].includes(v.impact));
    assert.deepEqual(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(" ")}`), []);
    await page.getByRole("button", { name: "New task" }).focus();
    await page.keyboard.press("Enter");
    await waitFor("the title field to take the focus", UI_MS, () => page.evaluate(() => document.activeElement?.id === "e-title"));
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, "none", "the focused field shows a focus ring");
    await page.keyboard.press("Escape");
  });

  it("fits a phone and follows the dark setting", async () => {
    const phone = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: "dark" });
    await signIn(phone);
    await row(phone, "Call the plumber").waitFor({ timeout: UI_MS });
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the phone`);
    const background = await phone.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = background.match(/\d+/g).map(Number);
    assert.ok(r + g + b < 150, `dark background, got ${background}`);
    await shot(phone, "phone-dark-list");
    await openForm(phone);
    await shot(phone, "phone-dark-form");
    await row(page, "Water the plants").getByRole("button").click();
    await page.locator("#d-history li").first().waitFor({ timeout: FLOW_MS });
    await shot(page, "desktop-light-detail");
    assert.deepEqual(phone.errors.filter((e) => !e.startsWith("Failed to load resource")), []);
    assert.deepEqual(page.errors.filter((e) => !e.startsWith("Failed to load resource")), []);
    await phone.context().close();
  });
});
