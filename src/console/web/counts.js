// How many tasks each filter shows (GET /tasks/counts), written beside the filters: in the
// status and priority choices, the overdue box and one summary line. Priorities count open tasks.
import { call } from "./api.js";
import { $, fill } from "./dom.js";

const PRIORITIES = ["urgent", "high", "medium", "low"];
let generation = 0;

/** Shows `label` with `n` after it, keeping the label the page was written with. */
function label(node, n) {
  node.dataset.label ??= node.textContent;
  node.textContent = n === null ? node.dataset.label : `${node.dataset.label} (${n})`;
}

/** Loads the counts again; a load started later wins. A failure leaves the labels bare. */
export async function load() {
  const current = ++generation;
  let counts = null;
  try {
    ({ data: counts } = await call("GET", "/tasks/counts"));
  } catch {
    counts = null;
  }
  if (current !== generation) return;
  show(counts);
}

function show(counts) {
  const more = counts?.capped ? "+" : "";
  const n = (value) => (counts ? `${value}${more}` : null);
  const status = $("f-status");
  label(status.querySelector("option[value=open]"), n(counts?.open));
  label(status.querySelector("option[value=completed]"), n(counts?.completed));
  label(status.querySelector("option[value='']"), n(counts ? counts.open + counts.completed : 0));
  for (const priority of PRIORITIES) {
    label($("f-priority").querySelector(`option[value=${priority}]`), n(counts?.open_by_priority[priority]));
  }
  label($("f-overdue-label"), n(counts?.overdue));
  fill($("counts"), counts
    ? `${n(counts.open)} open · ${n(counts.overdue)} overdue · ${n(counts.completed)} completed · open by priority: ${
      PRIORITIES.map((p) => `${n(counts.open_by_priority[p])} ${p}`).join(", ")}`
    : "");
}
