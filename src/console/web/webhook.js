// The reminder webhook: set (the signing secret is shown once, with a copy button), send a
// test call and show how the receiver answered, remove.
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
  $("w-test").addEventListener("click", () => test());
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

/** Whether a webhook is set: the test button only makes sense then. */
function isSet(set) {
  $("w-test").hidden = !set;
  $("w-delete").hidden = !set;
}

async function open() {
  error("");
  fill($("w-test-result"));
  $("w-secret-box").hidden = true;
  $("w-secret").value = "";
  $("webhook-dialog").showModal();
  try {
    const { data } = await call("GET", "/webhook");
    fill($("webhook-current"), `Reminders are sent to ${data.url} (set ${new Date(data.created_at).toLocaleString()}).`);
    $("w-url").value = data.url;
    isSet(true);
  } catch (failure) {
    fill($("webhook-current"), failure.status === 404 ? "No webhook is set." : describe(failure));
    isSet(failure.status !== 404);
  }
}

async function save() {
  error("");
  try {
    const { data } = await call("PUT", "/webhook", { body: { url: $("w-url").value.trim() } });
    fill($("webhook-current"), `Reminders are sent to ${data.url}.`);
    $("w-secret").value = data.secret;
    $("w-secret-box").hidden = false;
    isSet(true);
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
    fill($("w-test-result"));
    isSet(false);
  } catch (failure) {
    error(failure.status === 404 ? "No webhook is set." : describe(failure));
  }
}

/** One signed test call through the API; says what the receiver answered, or why not. */
async function test() {
  const button = $("w-test");
  button.disabled = true;
  fill($("w-test-result"), "Sending a test call…");
  try {
    const { data } = await call("POST", "/webhook/test");
    fill($("w-test-result"), data.delivered
      ? `Test call delivered: the receiver answered ${data.status} in ${data.latency_ms} ms.`
      : `Test call not delivered (${data.latency_ms} ms): ${data.error}`);
  } catch (failure) {
    fill($("w-test-result"), failure.status === 404 ? "No webhook is set." : `No test call was made: ${describe(failure)}`);
  } finally {
    button.disabled = false;
  }
}
