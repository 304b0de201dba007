// The reminder webhook: set (the signing secret is shown once, with a copy button), remove.
import { call, describe } from "./api.js";
import { $, fill } from "./dom.js";
import { toast } from "./toast.js";

export function init() {
  const dialog = $("webhook-dialog");
  $("webhook-open").addEventListener("click", () => open());
  $("w-close").addEventListener("click", () => dialog.close());
  $("webhook-form").addEventListener("submit", (event) => {
    event.preventDefault();
    save();
  });
  $("w-delete").addEventListener("click", () => remove());
  $("w-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("w-secret").value);
      toast("The secret is on the clipboard.");
    } catch {
      $("w-secret").select();
      toast("Copying was refused: the secret is selected, copy it with the keyboard.", "error");
    }
  });
}

function error(message) {
  fill($("err-url"), message);
  if (message) $("w-url").setAttribute("aria-invalid", "true");
  else $("w-url").removeAttribute("aria-invalid");
}

async function open() {
  error("");
  $("w-secret-box").hidden = true;
  $("w-secret").value = "";
  $("webhook-dialog").showModal();
  try {
    const { data } = await call("GET", "/webhook");
    fill($("webhook-current"), `Reminders are sent to ${data.url} (set ${new Date(data.created_at).toLocaleString()}).`);
    $("w-url").value = data.url;
  } catch (failure) {
    fill($("webhook-current"), failure.status === 404 ? "No webhook is set." : describe(failure));
  }
}

async function save() {
  error("");
  try {
    const { data } = await call("PUT", "/webhook", { body: { url: $("w-url").value.trim() } });
    fill($("webhook-current"), `Reminders are sent to ${data.url}.`);
    $("w-secret").value = data.secret;
    $("w-secret-box").hidden = false;
    $("w-secret").focus();
    $("w-secret").select();
  } catch (failure) {
    error(failure.fields?.[0]?.message || describe(failure));
  }
}

async function remove() {
  error("");
  try {
    await call("DELETE", "/webhook");
    fill($("webhook-current"), "No webhook is set.");
    $("w-url").value = "";
    $("w-secret-box").hidden = true;
  } catch (failure) {
    error(failure.status === 404 ? "No webhook is set." : describe(failure));
  }
}
