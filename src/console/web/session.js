// The bearer token of this tab: in sessionStorage (gone when the tab closes), never in a URL.

const KEY = "taskstream.token";

export function token() {
  return sessionStorage.getItem(KEY);
}

export function save(value) {
  sessionStorage.setItem(KEY, value);
}

export function forget() {
  sessionStorage.removeItem(KEY);
}

/** The user a token names (its `sub` claim), read without checking it: the API checks. */
export function userOf(value) {
  try {
    const payload = value.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)).sub ?? "";
  } catch {
    return "";
  }
}
