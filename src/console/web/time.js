// Wall-clock times in IANA time zones, with the browser's Intl alone.

export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

export function zones() {
  return typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : ["UTC"];
}

/** Whether `zone` names a time zone this browser knows. */
export function knownZone(zone) {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const partsFormats = new Map();
function partsFormat(zone) {
  if (!partsFormats.has(zone)) {
    partsFormats.set(zone, new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }));
  }
  return partsFormats.get(zone);
}

/** The wall-clock fields at instant `ms` in `zone`. */
function wallParts(ms, zone) {
  const parts = {};
  for (const { type, value } of partsFormat(zone).formatToParts(new Date(ms))) parts[type] = value;
  return parts;
}

/** Minutes `zone` is ahead of UTC at instant `ms`. */
function offsetMinutes(ms, zone) {
  const p = wallParts(ms, zone);
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

/**
 * The instant (RFC 3339, UTC) of wall-clock time `wall` ("2026-03-01T09:00" or with seconds)
 * in `zone`. A time in a spring-forward gap moves forward by the gap, as the API does.
 */
export function wallToInstant(wall, zone) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(wall);
  if (!m) throw new RangeError("not a date and time");
  const asUtc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  const first = asUtc - offsetMinutes(asUtc, zone) * 60000;
  const ms = asUtc - offsetMinutes(first, zone) * 60000;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The wall-clock time of `instant` in `zone`, as a datetime-local input shows it. */
export function instantToWall(instant, zone, withSeconds = false) {
  const p = wallParts(Date.parse(instant), zone);
  const wall = `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
  return withSeconds ? `${wall}:${p.second}` : wall;
}

/** `instant` for people: date and time in `zone`. */
export function show(instant, zone) {
  if (!instant) return "";
  return new Intl.DateTimeFormat(undefined, {
    timeZone: zone, weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
  }).format(new Date(instant));
}

/** The day of the month and weekday of a wall time "YYYY-MM-DDTHH:MM". */
export function dayOf(wall) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(wall || "");
  if (!m) return null;
  const date = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return { day: +m[3], month: +m[2], weekday: ["SU", "MO", "TU", "WE", "TH", "FR", "SA"][date.getUTCDay()] };
}
