// The task form: create or edit, with presets for reminders and repeat rules, a live preview
// of the next occurrences from the API, and the API's field errors beside their fields.
import { call, describe } from "./api.js";
import * as actions from "./actions.js";
import { $, debounce, el, fill } from "./dom.js";
import { presetOf, ruleFor } from "./rules.js";
import { browserZone, instantToWall, knownZone, show, wallToInstant, zones } from "./time.js";
import { toast } from "./toast.js";

const PRESET_REMINDERS = ["-PT15M", "-PT1H", "-P1D"];
const PREVIEW_COUNT = 5;
/** Where an API field's error is shown ("tags[2]" under tags). */
const FIELDS = ["title", "description", "priority", "tags", "due_at", "time_zone", "reminders", "recurrence"];
const INPUTS = { title: "e-title", description: "e-description", priority: "e-priority", tags: "e-tags",
  due_at: "e-due", time_zone: "e-zone", reminders: "e-remind-at", recurrence: "e-rrule" };

let editing = null; // the task being edited, or null for a new one
let keptReminders = []; // reminders the form has no control for, sent back as they were
let onSaved = () => {};
let previewRun = 0;

export function init(handlers) {
  onSaved = handlers.onSaved;
  const form = $("editor");
  fill($("zones"), zones().map((zone) => el("option", { value: zone })));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save();
  });
  $("e-cancel").addEventListener("click", handlers.onCancel);
  $("e-repeat").addEventListener("change", () => applyPreset());
  for (const box of document.querySelectorAll("#weekdays input")) box.addEventListener("change", () => applyPreset());
  $("e-last-day").addEventListener("change", () => applyPreset());
  const later = debounce(preview, 300);
  for (const id of ["e-due", "e-zone", "e-rrule", "e-mode"]) $(id).addEventListener("input", later);
  $("e-rrule").addEventListener("input", () => {
    $("e-repeat").value = presetOf($("e-rrule").value.trim()).preset;
    showPresetControls();
  });
}

export function openNew() {
  editing = null;
  keptReminders = [];
  const form = $("editor");
  form.reset();
  fill($("editor-title"), "New task");
  fill($("e-save"), "Create");
  $("e-zone").value = browserZone();
  clearErrors();
  showPresetControls();
  preview();
  form.hidden = false;
  $("e-title").focus();
}

export function openEdit(task) {
  editing = task;
  const form = $("editor");
  form.reset();
  fill($("editor-title"), "Edit task");
  fill($("e-save"), "Save");
  $("e-title").value = task.title;
  $("e-description").value = task.description;
  $("e-priority").value = task.priority;
  $("e-tags").value = task.tags.join(" ");
  $("e-zone").value = task.time_zone;
  $("e-due").value = task.due_at ? instantToWall(task.due_at, task.time_zone) : "";
  keptReminders = [];
  for (const reminder of task.reminders) {
    const preset = document.querySelector(`input[name="reminder-preset"][value="${CSS.escape(reminder)}"]`);
    if (preset) preset.checked = true;
    else if (!reminder.startsWith("-") && !$("e-remind-at").value) $("e-remind-at").value = instantToWall(reminder, task.time_zone, true);
    else keptReminders.push(reminder);
  }
  const { preset, days = [], lastDay } = presetOf(task.recurrence);
  $("e-repeat").value = preset;
  for (const box of document.querySelectorAll("#weekdays input")) box.checked = days.includes(box.value);
  if (lastDay) $("e-last-day").value = lastDay;
  $("e-rrule").value = task.recurrence || "";
  $("e-mode").value = task.recurrence_mode;
  clearErrors();
  showPresetControls();
  preview();
  form.hidden = false;
  $("e-title").focus();
}

export function close() {
  editing = null;
  $("editor").hidden = true;
}

/** The id of the task being edited, if any. */
export function editingId() {
  return editing?.id ?? null;
}

function showPresetControls() {
  const preset = $("e-repeat").value;
  $("weekdays").hidden = preset !== "weekly";
  $("last-day-field").hidden = preset !== "monthly-last";
}

function applyPreset() {
  showPresetControls();
  const days = [...document.querySelectorAll("#weekdays input:checked")].map((box) => box.value);
  const rule = ruleFor($("e-repeat").value, { days, lastDay: $("e-last-day").value, dueWall: $("e-due").value });
  if (rule !== undefined) $("e-rrule").value = rule || "";
  preview();
}

/** The form as the API's fields; throws a FieldError-like list when it cannot be read. */
function collect() {
  const zone = $("e-zone").value.trim() || "UTC";
  const errors = [];
  if (!knownZone(zone)) errors.push({ field: "time_zone", message: `${zone} is not a time zone this browser knows` });
  const instant = (id, field) => {
    const wall = $(id).value;
    if (!wall || errors.length) return null;
    try {
      return wallToInstant(wall, zone);
    } catch {
      errors.push({ field, message: "is not a complete date and time" });
      return null;
    }
  };
  const due = instant("e-due", "due_at");
  const exact = instant("e-remind-at", "reminders");
  if (errors.length) throw errors;
  const reminders = [...document.querySelectorAll('input[name="reminder-preset"]:checked')].map((box) => box.value);
  if (exact) reminders.push(exact);
  const rule = $("e-rrule").value.trim();
  return {
    title: $("e-title").value,
    description: $("e-description").value,
    priority: $("e-priority").value,
    tags: $("e-tags").value.split(/[\s,]+/).filter(Boolean),
    due_at: due,
    time_zone: zone,
    recurrence: rule || null,
    recurrence_mode: $("e-mode").value,
    reminders: reminders.concat(keptReminders.filter((r) => !PRESET_REMINDERS.includes(r))),
  };
}

async function save() {
  clearErrors();
  let body;
  try {
    body = collect();
  } catch (errors) {
    showErrors(errors);
    return;
  }
  const button = $("e-save");
  button.disabled = true;
  try {
    const task = editing
      ? await actions.edit(editing, body, { title: body.title.trim(), priority: body.priority, tags: body.tags })
      : (await call("POST", "/tasks", { body })).data;
    toast(editing ? `Saved “${task.title}”.` : `Created “${task.title}”.`);
    close();
    onSaved(task);
  } catch (error) {
    if (error.status === 412 && editing) {
      const current = await actions.refetch(editing.id);
      if (current) openEdit(current);
      showErrors([{ field: "", message: "This task was changed elsewhere, so your change was not saved. The form now shows the current version." }]);
    } else if (error.fields?.length) {
      showErrors(error.fields);
    } else {
      showErrors([{ field: "", message: describe(error) }]);
    }
  } finally {
    button.disabled = false;
  }
}

/** The field a problem names, as the form shows it ("reminders[1]" → reminders). */
function formField(name) {
  const base = String(name || "").split(/[[.]/)[0];
  return FIELDS.includes(base) ? base : null;
}

function clearErrors(only) {
  for (const field of only || FIELDS) {
    fill($(`err-${field}`));
    $(INPUTS[field]).removeAttribute("aria-invalid");
  }
  if (!only) fill($("err-form"));
}

function showErrors(errors) {
  const seen = new Set();
  for (const { field, message } of errors) {
    const target = formField(field);
    const node = $(target ? `err-${target}` : "err-form");
    const text = target && field !== target ? `${field}: ${message}` : field && !target ? `${field}: ${message}` : message;
    node.textContent = node.textContent ? `${node.textContent} ${text}` : text;
    if (target) {
      $(INPUTS[target]).setAttribute("aria-invalid", "true");
      if (!seen.size) $(INPUTS[target]).focus();
      seen.add(target);
    }
  }
}

/** Asks the API for the next occurrences of the rule being written. */
async function preview() {
  const run = ++previewRun;
  const rule = $("e-rrule").value.trim();
  const zone = $("e-zone").value.trim() || "UTC";
  const list = $("preview");
  const note = $("preview-note");
  const previewFields = ["due_at", "time_zone", "recurrence"];
  if (!rule) {
    fill(list);
    fill(note, "Does not repeat.");
    clearErrors(["recurrence"]);
    return;
  }
  if (!$("e-due").value) {
    fill(list);
    fill(note, "A repeating task needs a due date and time.");
    return;
  }
  let due;
  try {
    due = wallToInstant($("e-due").value, zone);
  } catch {
    return;
  }
  if (!knownZone(zone)) return;
  try {
    const { data } = await call("POST", "/occurrences", {
      body: { due_at: due, time_zone: zone, recurrence: rule, recurrence_mode: $("e-mode").value, limit: PREVIEW_COUNT - 1 },
    });
    if (run !== previewRun) return;
    clearErrors(previewFields);
    fill(list, [due, ...data.due_times].map((at) => el("li", {}, show(at, zone))));
    fill(note, data.series_ends ? "The series ends here." : "");
  } catch (error) {
    if (run !== previewRun) return;
    fill(list);
    clearErrors(previewFields);
    if (error.fields?.length) showErrorsQuietly(error.fields);
    else fill(note, `No preview: ${describe(error)}`);
  }
}

/** Field errors of the preview, without moving the focus away from what is being typed. */
function showErrorsQuietly(errors) {
  for (const { field, message } of errors) {
    const target = formField(field);
    if (!target) continue;
    $(`err-${target}`).textContent = message;
    $(INPUTS[target]).setAttribute("aria-invalid", "true");
  }
}
