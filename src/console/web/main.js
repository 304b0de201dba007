// The console: sign-in, then the list, the panel (a task or the form) and the live stream.
import { call, describe, signedOut } from "./api.js";
import * as actions from "./actions.js";
import * as counts from "./counts.js";
import * as detail from "./detail.js";
import { $, debounce, fill } from "./dom.js";
import * as editor from "./editor.js";
import * as list from "./list.js";
import { LiveStream } from "./live.js";
import * as session from "./session.js";
import { toast } from "./toast.js";
import * as webhook from "./webhook.js";

const live = new LiveStream({
  onEvent: liveEvent,
  onResync: () => reloadSoon(),
  onConnected: (resumed) => { if (!resumed) reloadSoon(); },
  onState: (state, words) => {
    $("live").dataset.state = state;
    fill($("live"), words);
  },
  onUnauthorized: () => signOut("Your session has ended; sign in again."),
});

/** The list and the counts beside the filters, as the server has them now. */
function reload() {
  list.load();
  counts.load();
}

const reloadSoon = debounce(reload, 150);

// --- signing in ---------------------------------------------------------------------------

async function showSignIn(message) {
  $("workspace").hidden = true;
  for (const id of ["sign-out", "webhook-open", "notify-enable"]) $(id).hidden = true;
  fill($("who"));
  $("sign-in").hidden = false;
  fill($("token-error"), message || "");
  try {
    const response = await fetch("/console/sign-in", { signal: AbortSignal.timeout(10000) });
    const offered = response.ok && (await response.json()).local_sign_in;
    $("local-form").hidden = !offered;
  } catch {
    $("local-form").hidden = true;
  }
  ($("local-form").hidden ? $("token") : $("local-user")).focus();
  performance.mark("console-usable"); // measured by the browser tests
}

async function localSignIn(event) {
  event.preventDefault();
  fill($("local-user-error"));
  try {
    const response = await fetch("/console/sign-in", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: $("local-user").value }),
      signal: AbortSignal.timeout(10000),
    });
    const body = await response.json();
    if (!response.ok) {
      fill($("local-user-error"), body.errors?.[0]?.message || body.detail || `refused (${response.status})`);
      return;
    }
    session.save(body.token);
    enter();
  } catch (error) {
    fill($("local-user-error"), describe(error));
  }
}

async function tokenSignIn(event) {
  event.preventDefault();
  const token = $("token").value.trim().replace(/^Bearer\s+/i, "");
  fill($("token-error"));
  if (!token) {
    fill($("token-error"), "Paste a token first.");
    return;
  }
  session.save(token);
  try {
    await call("GET", "/tasks?limit=1");
    $("token").value = "";
    enter();
  } catch (error) {
    session.forget();
    fill($("token-error"), `This token is not accepted: ${describe(error)}`);
  }
}

function signOut(message) {
  live.stop();
  session.forget();
  editor.close();
  detail.hide();
  showSignIn(message);
}

function enter() {
  $("sign-in").hidden = true;
  $("workspace").hidden = false;
  fill($("who"), `signed in as ${session.userOf(session.token())}`);
  $("sign-out").hidden = false;
  $("webhook-open").hidden = false;
  $("notify-enable").hidden = !("Notification" in window) || Notification.permission !== "default";
  reload();
  live.start();
  $("new-task").focus();
}

// --- the panel ----------------------------------------------------------------------------

function showPanel(which) {
  $("panel-hint").hidden = which !== "hint";
  if (which !== "editor") editor.close();
  if (which !== "detail") detail.hide();
}

function openTask(task) {
  showPanel("detail");
  list.select(task.id);
  detail.open(list.get(task.id) || task).then(() => $("d-title")?.focus());
}

function editTask(task) {
  showPanel("editor");
  editor.openEdit(task);
}

/** After a change the server accepted (or a live one): the panel follows the task. */
function changed(task, id) {
  if (detail.shownId() !== id) return;
  if (task) detail.open(task);
  else {
    showPanel("hint");
    fill($("panel-hint"), "That task was deleted.");
  }
}

// --- live ---------------------------------------------------------------------------------

/** Changes of a burst (a completion and the next occurrence), the last one per task. */
const burst = new Map();
/** A burst changing more tasks than this reloads the list (one call) instead of each row. */
const ROWS_PER_BURST = 20;

function liveEvent(type, event) {
  if (type.startsWith("task.")) {
    burst.set(event.task_id, { type, event });
    applySoon();
  } else if (type === "reminder.fired") {
    remind(event.data);
    if (detail.shownId() === event.task_id) actions.refetch(event.task_id); // the reminder's state
  }
}

/** Applies the burst 150 ms after its first change (so a steady flow still shows). */
let applyTimer = null;
function applySoon() {
  applyTimer ??= setTimeout(applyBurst, 150);
}

function applyBurst() {
  applyTimer = null;
  const changes = [...burst.values()];
  burst.clear();
  counts.load();
  if (changes.length > ROWS_PER_BURST || !list.canApply()) {
    list.load();
    for (const { event } of changes) if (detail.shownId() === event.task_id) actions.refetch(event.task_id);
    return;
  }
  for (const { type, event } of changes) applyChange(type, event);
}

/** One task's row (and the panel, when it shows the task) follows a live change. */
async function applyChange(type, event) {
  const id = event.task_id;
  let task = null;
  if (type === "task.created") task = fromSnapshot(event);
  else if (type !== "task.deleted") task = await current(id);
  if (task === undefined) return;
  if (task) list.apply(task);
  else list.remove(id);
  changed(task, id);
}

/** The task as the API has it now; null when it is gone, undefined when that is unknown. */
async function current(id) {
  try {
    return (await call("GET", `/tasks/${id}`)).data;
  } catch (error) {
    return error.status === 404 ? null : undefined;
  }
}

/** A task.created event's snapshot in the shape the API answers (docs/events.md). */
function fromSnapshot(event) {
  const { occurrence_index: occurrence, series_start: _, ...task } = event.data.task;
  return { ...task, id: event.task_id, occurrence, version: event.task_version };
}

function remind(data) {
  const when = data.late ? " (late)" : "";
  if ("Notification" in window && Notification.permission === "granted") {
    new Notification(data.title, { body: `Reminder${when}`, tag: data.reminder_id });
  } else {
    toast(`Reminder${when}: ${data.title}`, "reminder");
  }
}

async function askNotifications() {
  const answer = await Notification.requestPermission();
  $("notify-enable").hidden = answer !== "default";
  toast(answer === "granted" ? "Reminders will show as notifications." : "Reminders will show here in the page.");
}

// --- wiring -------------------------------------------------------------------------------

function init() {
  $("local-form").addEventListener("submit", localSignIn);
  $("token-form").addEventListener("submit", tokenSignIn);
  $("sign-out").addEventListener("click", () => signOut("Signed out."));
  $("notify-enable").addEventListener("click", askNotifications);
  signedOut.addEventListener("signed-out", () => signOut("Your session has ended; sign in again."));

  list.init({ onOpen: openTask, onToggle: (task) => actions.toggle(task) });
  actions.init(changed);
  detail.init({ onEdit: editTask });
  editor.init({
    onSaved: (task) => {
      reload();
      openTask(task);
    },
    onCancel: () => {
      showPanel("hint");
      fill($("panel-hint"), "Choose a task, or create one.");
    },
  });
  webhook.init();

  $("new-task").addEventListener("click", () => {
    showPanel("editor");
    list.select(null);
    editor.openNew();
  });
  $("editor").addEventListener("keydown", (event) => {
    if (event.key === "Escape") $("e-cancel").click();
  });
  const filter = debounce(() => list.load(), 250);
  $("filters").addEventListener("input", filter);
  $("filters").addEventListener("change", filter);

  if (session.token()) enter();
  else showSignIn();
}

init();
