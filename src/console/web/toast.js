// Short messages in the corner, read out by screen readers (the container is a live region).
import { $, el } from "./dom.js";

const SHOWN_MS = 6000;

export function toast(message, kind = "info") {
  const node = el("div", { class: `toast ${kind}` }, message);
  $("toasts").append(node);
  setTimeout(() => node.remove(), kind === "error" ? SHOWN_MS * 2 : SHOWN_MS);
}
