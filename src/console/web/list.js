// The task list: the filters as the API's query, pages by its cursors, and the rows.
import { call, describe } from "./api.js";
import { $, el, fill } from "./dom.js";
import { show } from "./time.js";
import { summary } from "./rules.js";

const PAGE = 50;
const MAX_PAGE = 200;

const state = {
  items: [],
  next: null,
  selected: null,
  /** ids with a change in flight: shown as pending. */
  pending: new Set(),
  generation: 0,
};

let handlers = { onOpen() {}, onToggle() {} };

/** `onOpen(task)` when a row is chosen, `onToggle(task)` when its checkbox is. */
export function init(given) {
  handlers = given;
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  $("more").addEventListener("click", () => load({ more: true }));
}

/** The filters as chosen in the form. */
function filters() {
  const form = new FormData($("filters"));
  return {
    status: String(form.get("status") || ""),
    priority: String(form.get("priority") || ""),
    sort: String(form.get("sort") || "due_at"),
    order: String(form.get("order") || "asc"),
    q: String(form.get("q") || "").trim(),
    tag: String(form.get("tag") || "").trim().toLowerCase(),
    overdue: Boolean(form.get("overdue")),
  };
}

function query(cursor, limit) {
  const f = filters();
  const params = new URLSearchParams();
  for (const name of ["status", "priority", "sort", "order", "q", "tag"]) {
    if (f[name]) params.set(name, f[name]);
  }
  if (f.overdue) params.set("overdue", "true");
  params.set("limit", String(limit));
  if (cursor) params.set("cursor", cursor);
  return params.toString();
}

/**
 * Loads the first page again (as many rows as are shown, so a live reload keeps the place),
 * or with `more` the next page. A load started later wins over one still in flight.
 */
export async function load({ more = false } = {}) {
  const generation = ++state.generation;
  const limit = more ? PAGE : Math.min(Math.max(PAGE, state.items.length), MAX_PAGE);
  try {
    const { data } = await call("GET", `/tasks?${query(more ? state.next : null, limit)}`);
    if (generation !== state.generation) return;
    const items = data.items.map(newest);
    state.items = more ? state.items.concat(items) : items;
    state.next = data.next_cursor;
    fill($("filters-error"));
    render();
  } catch (error) {
    if (generation !== state.generation) return;
    const field = error.fields?.[0];
    fill($("filters-error"), field ? `${field.field}: ${field.message}` : `Tasks could not be loaded: ${describe(error)}`);
  }
}

/** `task`, or the later version of it the list already shows (a live change overtook the load). */
function newest(task) {
  const shown = state.items.find((t) => t.id === task.id);
  return shown && shown.version > task.version ? shown : task;
}

/** Whether live changes can go in row by row: not under a search, whose word matching is the API's. */
export function canApply() {
  return !filters().q;
}

/**
 * A live change of one task: its row is replaced, moved to where the sort puts it, or taken
 * out when the task no longer matches the filters; a task new to the list goes in where it
 * sorts (past the last row only when no further page could hold it). An older version than
 * the one shown changes nothing.
 */
export function apply(task) {
  const index = state.items.findIndex((t) => t.id === task.id);
  if (index >= 0) {
    if (state.items[index].version > task.version) return;
    state.items.splice(index, 1);
  }
  const f = filters();
  if (matches(task, f)) {
    const at = state.items.findIndex((t) => sortsBefore(task, t, f));
    if (at >= 0) state.items.splice(at, 0, task);
    else if (!state.next) state.items.push(task);
  }
  render();
}

function matches(task, f) {
  return (!f.status || task.status === f.status)
    && (!f.priority || task.priority === f.priority)
    && (!f.tag || task.tags.includes(f.tag))
    && (!f.overdue || isOverdue(task));
}

const RANK = { low: 0, medium: 1, high: 2, urgent: 3 };
/** The sort key of a task without a due time, after every dated one (as the API sorts). */
const NO_DUE = "~";

function sortKey(task, sort) {
  if (sort === "due_at") return task.due_at ?? NO_DUE;
  if (sort === "priority") return RANK[task.priority];
  return task[sort];
}

/** Whether `a` comes before `b` in the API's order: by the sort key, then by id. */
function sortsBefore(a, b, f) {
  const compare = (x, y) => (x < y ? -1 : x > y ? 1 : 0);
  const c = compare(sortKey(a, f.sort), sortKey(b, f.sort)) || compare(a.id, b.id);
  return f.order === "desc" ? c > 0 : c < 0;
}

export function get(id) {
  return state.items.find((task) => task.id === id) || null;
}

/**
 * Shows `task` (an optimistic change, or the server's answer) in place of its row, unless the
 * row already shows a later version: a reload overtook this answer. A task the list does not
 * hold is added only with `insert` (a rollback), so a late answer never brings back a row a
 * reload took out (a completed occurrence under the "open" filter).
 */
export function put(task, { insert = false } = {}) {
  const index = state.items.findIndex((t) => t.id === task.id);
  if (index >= 0) {
    if (state.items[index].version > task.version) return;
    state.items[index] = task;
  } else if (insert) {
    state.items.unshift(task);
  } else {
    return;
  }
  render();
}

export function remove(id) {
  state.items = state.items.filter((task) => task.id !== id);
  render();
}

export function setPending(id, pending) {
  if (pending) state.pending.add(id);
  else state.pending.delete(id);
  render();
}

export function select(id) {
  state.selected = id;
  render();
}

export function isOverdue(task) {
  return task.status === "open" && task.due_at && Date.parse(task.due_at) < Date.now();
}

function row(task) {
  const done = task.status === "completed";
  const due = task.due_at
    ? el("span", { class: isOverdue(task) ? "overdue" : "" }, isOverdue(task) ? "overdue · " : "due ", show(task.due_at, task.time_zone))
    : null;
  return el("li", {
    class: state.pending.has(task.id) ? "pending" : "",
    "aria-current": state.selected === task.id ? "true" : null,
    "data-id": task.id,
  },
  el("input", {
    type: "checkbox", checked: done, "aria-label": `${done ? "Reopen" : "Complete"} “${task.title}”`,
    disabled: state.pending.has(task.id), onchange: () => handlers.onToggle(task),
  }),
  el("button", { type: "button", class: `open ${done ? "done" : ""}`, onclick: () => handlers.onOpen(task) },
    el("span", { class: "t" }, task.title),
    el("span", { class: "meta" },
      due,
      el("span", { class: `prio-${task.priority}` }, task.priority),
      task.recurrence ? el("span", {}, `↻ ${summary(task.recurrence)}`) : null,
      task.tags.map((tag) => el("span", { class: "chip" }, tag)))));
}

function render() {
  fill($("task-list"), state.items.map(row));
  $("empty").hidden = state.items.length > 0;
  $("more").hidden = !state.next;
  fill($("count"), state.next ? `(${state.items.length} shown, more below)` : `(${state.items.length})`);
}
