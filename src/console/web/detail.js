// One task in full: its fields, actions, reminders with their states, next occurrences and
// the history the audit role recorded.
import { call, describe } from "./api.js";
import * as actions from "./actions.js";
import { $, el, fill } from "./dom.js";
import { isOverdue } from "./list.js";
import { show } from "./time.js";

let shown = null;
let onEdit = () => {};
let run = 0;

export function init(handlers) {
  onEdit = handlers.onEdit;
}

export function shownId() {
  return $("detail").hidden ? null : shown?.id ?? null;
}

export function hide() {
  shown = null;
  $("detail").hidden = true;
}

/** Shows `task` and loads what belongs to it. */
export async function open(task) {
  shown = task;
  const node = $("detail");
  const done = task.status === "completed";
  const repeating = Boolean(task.recurrence);
  fill(node,
    el("h2", { id: "d-title", tabindex: "-1" }, task.title),
    el("p", { class: "meta" },
      el("span", { class: "state" }, done ? "completed" : isOverdue(task) ? "overdue" : "open"),
      task.due_at ? el("span", {}, `due ${show(task.due_at, task.time_zone)} (${task.time_zone})`) : el("span", {}, "no due time"),
      el("span", { class: `prio-${task.priority}` }, `${task.priority} priority`),
      task.tags.map((tag) => el("span", { class: "chip" }, tag))),
    task.description ? el("p", { class: "desc" }, task.description) : null,
    repeating ? el("p", { class: "meta" },
      `Repeats: ${task.recurrence} (${task.recurrence_mode === "completion" ? "from completion" : "on the calendar"}), occurrence ${task.occurrence}`,
      task.series_ended ? " — the last one" : "") : null,
    el("div", { class: "actions" },
      el("button", { type: "button", onclick: () => onEdit(shown) }, "Edit"),
      el("button", { type: "button", class: "primary", onclick: () => actions.toggle(shown) }, done ? "Reopen" : "Complete"),
      repeating && !done && !task.series_ended
        ? el("button", { type: "button", onclick: () => actions.skip(shown) }, "Skip this occurrence") : null,
      el("button", { type: "button", class: "danger", onclick: () => actions.remove(shown) }, repeating ? "Delete this occurrence" : "Delete"),
      repeating ? el("button", { type: "button", class: "danger", onclick: () => actions.remove(shown, true) }, "Delete the series") : null),
    block("Reminders", "d-reminders"),
    repeating ? block("Next occurrences", "d-occurrences") : null,
    block("History", "d-history"));
  node.hidden = false;
  await loadRelated(task);
}

function block(title, id) {
  return el("section", { class: "detail-block", "aria-labelledby": `${id}-title` },
    el("h3", { id: `${id}-title` }, title),
    el("div", { id }, el("p", { class: "hint" }, "Loading…")));
}

async function loadRelated(task) {
  const current = ++run;
  const base = `/tasks/${task.id}`;
  const parts = [
    ["d-reminders", call("GET", `${base}/reminders`), (data) => reminders(data, task)],
    ["d-history", call("GET", `${base}/history`), history],
  ];
  if (task.recurrence) parts.push(["d-occurrences", call("GET", `${base}/occurrences?limit=5`), (data) => occurrences(data, task)]);
  await Promise.all(parts.map(async ([id, request, render]) => {
    try {
      const { data } = await request;
      if (current === run && $(id)) fill($(id), render(data));
    } catch (error) {
      if (current === run && $(id)) fill($(id), el("p", { class: "hint" }, describe(error)));
    }
  }));
}

function reminders(list, task) {
  if (!list.length) return el("p", { class: "hint" }, "None.");
  return el("ul", {}, list.map((r) => el("li", {},
    `${offsetWords(r.spec) ?? "at a set time"} — ${r.fire_at ? show(r.fire_at, task.time_zone) : "no time"} — `,
    el("span", { class: "state" }, r.state),
    r.late_ms ? ` (${Math.round(r.late_ms / 1000)} s late)` : "")));
}

const UNITS = [["week", "W"], ["day", "D"], ["h", "H"], ["min", "M"], ["s", "S"]];

/** "-PT1H30M" as "1 h 30 min before"; null for a fixed instant. */
function offsetWords(spec) {
  const m = /^-P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(spec);
  if (!m) return null;
  const words = UNITS.map(([unit], i) => {
    const n = Number(m[i + 1] || 0);
    if (!n) return null;
    return unit.length > 3 && n !== 1 ? `${n} ${unit}s` : `${n} ${unit}`;
  }).filter(Boolean);
  return `${words.join(" ") || "0 min"} before`;
}

function occurrences(data, task) {
  if (!data.due_times.length) return el("p", { class: "hint" }, "This is the last one.");
  return [
    el("ol", {}, data.due_times.map((at) => el("li", {}, show(at, task.time_zone)))),
    data.series_ends ? el("p", { class: "hint" }, "The series ends there.") : null,
  ];
}

const EVENT_WORDS = {
  "task.created": "created", "task.updated": "changed", "task.completed": "completed",
  "task.reopened": "reopened", "task.deleted": "deleted",
};

function history(entries) {
  if (!entries.length) return el("p", { class: "hint" }, "Nothing recorded yet (the audit role records events a moment after they happen).");
  return el("ol", {}, entries.map((entry) => el("li", {},
    el("strong", {}, EVENT_WORDS[entry.event_type] || entry.event_type),
    ` (v${entry.task_version}) ${new Date(entry.occurred_at).toLocaleString()}`,
    entry.data?.changed?.length ? ` — ${entry.data.changed.join(", ")}` : "")));
}
