// Repeat presets and the RRULE text they stand for, both ways.
import { dayOf } from "./time.js";

/** The RRULE of `preset` (null: does not repeat; undefined: keep the custom text). */
export function ruleFor(preset, { days = [], lastDay = "FR", dueWall = "" } = {}) {
  const due = dayOf(dueWall);
  switch (preset) {
    case "none": return null;
    case "daily": return "FREQ=DAILY";
    case "weekdays": return "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR";
    case "weekly": return `FREQ=WEEKLY;BYDAY=${(days.length ? days : [due?.weekday || "MO"]).join(",")}`;
    case "monthly-day": return "FREQ=MONTHLY"; // on the due date's day of the month
    case "monthly-last": return `FREQ=MONTHLY;BYDAY=-1${lastDay}`;
    case "yearly": return "FREQ=YEARLY";
    default: return undefined;
  }
}

/** The preset a stored rule matches, with its chosen days. */
export function presetOf(rule) {
  if (!rule) return { preset: "none" };
  const text = rule.toUpperCase().replace(/^RRULE:/, "");
  if (text === "FREQ=DAILY") return { preset: "daily" };
  if (text === "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR") return { preset: "weekdays" };
  if (text === "FREQ=YEARLY") return { preset: "yearly" };
  let m = /^FREQ=WEEKLY;BYDAY=((?:MO|TU|WE|TH|FR|SA|SU)(?:,(?:MO|TU|WE|TH|FR|SA|SU))*)$/.exec(text);
  if (m) return { preset: "weekly", days: m[1].split(",") };
  if (text === "FREQ=MONTHLY") return { preset: "monthly-day" };
  m = /^FREQ=MONTHLY;BYDAY=-1(MO|TU|WE|TH|FR|SA|SU)$/.exec(text);
  if (m) return { preset: "monthly-last", lastDay: m[1] };
  return { preset: "custom" };
}

const WORDS = { DAILY: "daily", WEEKLY: "weekly", MONTHLY: "monthly", YEARLY: "yearly" };

/** A few words for a rule in the list. */
export function summary(rule) {
  const freq = /FREQ=(\w+)/i.exec(rule || "");
  return freq ? `repeats ${WORDS[freq[1].toUpperCase()] || freq[1].toLowerCase()}` : "";
}
