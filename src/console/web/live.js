// The live stream (GET /api/v1/stream) read with fetch, since EventSource cannot send the
// bearer header. It reconnects with Last-Event-ID after a drop; the server answers `resync`
// when it no longer has what was missed, and the page then reloads through the REST API.
import * as session from "./session.js";

/** The server sends a comment every 15 s: silence for longer means the connection is gone. */
const SILENCE_MS = 40000;
const MAX_BACKOFF_MS = 15000;

export class LiveStream {
  /** `onEvent(type, data)`, `onResync()`, `onState("on"|"retry"|"off", why)`, `onConnected()`. */
  constructor(handlers) {
    this.handlers = handlers;
    this.lastId = null;
    this.stopped = true;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.run();
  }

  stop() {
    this.stopped = true;
    this.controller?.abort();
    this.handlers.onState("off", "signed out");
  }

  async run() {
    let backoff = 1000;
    while (!this.stopped) {
      let wait = backoff;
      try {
        await this.connect();
        backoff = 1000; // it was up: the next drop retries soon
        wait = 500;
      } catch (error) {
        if (this.stopped) return;
        if (error.status === 401) {
          this.handlers.onUnauthorized?.();
          return;
        }
        if (error.retryAfter) wait = error.retryAfter * 1000;
      }
      if (this.stopped) return;
      this.handlers.onState("retry", "reconnecting");
      await new Promise((resolve) => setTimeout(resolve, wait * (0.8 + Math.random() * 0.4)));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  /** One connection, until it ends or falls silent. */
  async connect() {
    this.controller = new AbortController();
    const headers = { Accept: "text/event-stream", Authorization: `Bearer ${session.token()}` };
    if (this.lastId) headers["Last-Event-ID"] = this.lastId;
    let silence = setTimeout(() => this.controller.abort(), SILENCE_MS);
    try {
      const response = await fetch("/api/v1/stream", { headers, signal: this.controller.signal, cache: "no-store" });
      if (!response.ok) {
        const error = new Error(`stream answered ${response.status}`);
        error.status = response.status;
        error.retryAfter = Number(response.headers.get("Retry-After")) || 0;
        throw error;
      }
      this.handlers.onState("on", "live");
      this.handlers.onConnected?.(this.lastId !== null);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        clearTimeout(silence);
        silence = setTimeout(() => this.controller.abort(), SILENCE_MS);
        buffer += value;
        let end;
        while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
          this.dispatch(block);
        }
      }
    } finally {
      clearTimeout(silence);
    }
  }

  /** One event block: `id:`, `event:` and `data:` lines (comments start with ':'). */
  dispatch(block) {
    let type = "message";
    let id = null;
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") type = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
    }
    if (!data.length) return;
    if (id) this.lastId = id;
    if (type === "resync") {
      this.handlers.onResync();
      return;
    }
    try {
      this.handlers.onEvent(type, JSON.parse(data.join("\n")));
    } catch {
      // A block that is not JSON is not ours to show.
    }
  }
}
