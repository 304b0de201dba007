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

function query(cursor, limit) {
  const form = new FormData($("filters"));
  const params = new URLSearchParams();
  for (const name of ["status", "priority", "sort", "order"]) {
    if (form.get(name)) params.set(name, form.get(name));
  }
  const q = String(form.get("q") || "").trim();
  if (q) params.set("q", q);
  const tag = String(form.get("tag") || "").trim().toLowerCase();
  if (tag) params.set("tag", tag);
  if (form.get("overdue")) params.set("overdue", "true");
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
    state.items = more ? state.items.concat(data.items) : data.items;
    state.next = data.next_cursor;
    fill($("filters-error"));
    render();
  } catch (error) {
    if (generation !== state.generation) return;
    const field = error.fields?.[0];
    fill($("filters-error"), field ? `${field.field}: ${field.message}` : `Tasks could not be loaded: ${describe(error)}`);
  }
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
