// Changes to a task, shown at once and rolled back when the API refuses them (412: someone
// changed it first; or any error). Each sends the version it was based on (If-Match).
import { call, describe } from "./api.js";
import * as list from "./list.js";
import { toast } from "./toast.js";

let changed = () => {};

/** `onChanged(task | null, id)` after the server accepted a change (null: deleted). */
export function init(onChanged) {
  changed = onChanged;
}

/** Shows `optimistic`, runs `request`; on failure shows `before` again and says why. */
async function attempt(before, optimistic, request, what) {
  if (optimistic) list.put(optimistic);
  else list.remove(before.id);
  list.setPending(before.id, true);
  try {
    const { data } = await request();
    if (data) list.put(data);
    changed(data, before.id);
    return data;
  } catch (error) {
    list.put(before, { insert: true });
    if (error.status === 412) {
      toast(`“${before.title}” was changed elsewhere; nothing was ${what}. Showing its current version.`, "error");
      await refetch(before.id);
    } else {
      toast(`“${before.title}” was not ${what}: ${describe(error)}`, "error");
    }
    return null;
  } finally {
    list.setPending(before.id, false);
  }
}

/** The task as the server has it now, into the list and the panel. */
export async function refetch(id) {
  try {
    const { data } = await call("GET", `/tasks/${id}`);
    list.put(data);
    changed(data, id);
    return data;
  } catch (error) {
    if (error.status === 404) {
      list.remove(id);
      changed(null, id);
    }
    return null;
  }
}

export function toggle(task) {
  const complete = task.status !== "completed";
  const optimistic = { ...task, status: complete ? "completed" : "open", completed_at: complete ? new Date().toISOString() : null };
  return attempt(task, optimistic, () => call("POST", `/tasks/${task.id}/${complete ? "complete" : "reopen"}`, { version: task.version }),
    complete ? "completed" : "reopened");
}

export function skip(task) {
  return attempt(task, { ...task }, () => call("POST", `/tasks/${task.id}/skip`, { version: task.version }), "skipped");
}

/** Deletes the task, and with `series` stops its repeating series too. */
export function remove(task, series = false) {
  const path = `/tasks/${task.id}${series ? "?series=true" : ""}`;
  return attempt(task, null, () => call("DELETE", path, { version: task.version }), "deleted");
}

/**
 * Saves the editor's `body` over `task` (PATCH with If-Match). Resolves to the saved task;
 * rejects with the ApiError (after the rollback) so the editor can show field errors.
 */
export async function edit(task, body, preview) {
  list.put({ ...task, ...preview });
  list.setPending(task.id, true);
  try {
    const { data } = await call("PATCH", `/tasks/${task.id}`, { body, version: task.version });
    list.put(data);
    changed(data, task.id);
    return data;
  } catch (error) {
    list.put(task);
    throw error;
  } finally {
    list.setPending(task.id, false);
  }
}
