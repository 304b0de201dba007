// Calls to the public API with the tab's bearer token. Every call has a deadline; errors
// arrive as `ApiError` carrying the problem document (RFC 9457) and its field errors.
import * as session from "./session.js";

const DEADLINE_MS = 15000;

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `the server answered ${status}`);
    this.status = status;
    this.problem = problem || {};
    /** [{field, message}] */
    this.fields = problem?.errors || [];
  }
}

/** Said when a call finds the token missing, expired or refused. */
export const signedOut = new EventTarget();

/**
 * `method` `path` (under /api/v1) with an optional JSON `body` and `version` (sent as If-Match).
 * Resolves to `{data, etag, status}`; rejects with ApiError (or a network error).
 */
export async function call(method, path, { body, version, signal } = {}) {
  const headers = { Accept: "application/json" };
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (version !== undefined) headers["If-Match"] = `"${version}"`;
  const deadline = AbortSignal.timeout(DEADLINE_MS);
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
    cache: "no-store",
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401) signedOut.dispatchEvent(new CustomEvent("signed-out", { detail: error.message }));
    throw error;
  }
  return { data, etag: response.headers.get("ETag"), status: response.status };
}

/** A readable sentence for any failure of `call`. */
export function describe(error) {
  if (error instanceof ApiError) {
    if (error.status === 429 || error.status === 503) return `${error.message} (try again in a moment)`;
    return error.message;
  }
  if (error?.name === "TimeoutError") return "the server did not answer in time";
  return "the server cannot be reached";
}
