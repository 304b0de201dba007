// Starts `taskstream all` for the browser tests: a fresh SQLite file or PostgreSQL database,
// its own topics on the test broker, local sign-in on, a free port, webhooks allowed to reach
// 127.0.0.1 (where the tests' receiver listens; the API's own address stays refused). The process is asked to
// die with this one (PR_SET_PDEATHSIG through setpriv), so a killed test leaves nothing behind.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Polls `probe` until it returns a truthy value, at most `ms`; fails naming `what`. */
export async function waitFor(what, ms, probe, every = 100) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
      last = value;
    } catch (error) {
      last = error.message;
    }
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}; last saw: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

function database(dataDir, run) {
  if (process.env.TASKSTREAM_TEST_BACKEND !== "postgres") {
    return { url: `sqlite://${join(dataDir, "console.db")}?mode=rwc`, drop() {} };
  }
  const admin = process.env.TEST_DATABASE_URL;
  if (!admin) throw new Error("TASKSTREAM_TEST_BACKEND=postgres needs TEST_DATABASE_URL");
  const name = `${process.env.TASKSTREAM_TEST_DB_PREFIX || `taskstream_test_${Math.floor(Date.now() / 1000)}_${process.pid}_`}console_${run}`;
  const psql = (sql) => execFileSync("psql", [admin, "-qtAc", sql], { timeout: 30000 });
  psql(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  // Cleanup must not fail the suite: DROP DATABASE waits for a checkpoint, which a loaded
  // PostgreSQL took over 30 s to give. Under scripts/test (a run prefix is set) the script
  // drops the run's databases itself, in parallel, at its end.
  const drop = () => {
    if (process.env.TASKSTREAM_TEST_DB_PREFIX) return;
    try {
      execFileSync("psql", [admin, "-qtAc", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], { timeout: 120000 });
    } catch (error) {
      console.warn(`could not drop ${name}: ${error.message}`);
    }
  };
  return { url: url.toString(), drop };
}

export async function startServer() {
  const bin = process.env.TASKSTREAM_BIN;
  const brokers = process.env.TEST_KAFKA_BROKERS;
  if (!bin || !brokers) throw new Error("set TASKSTREAM_BIN (the built binary) and TEST_KAFKA_BROKERS (a running broker)");
  const run = `${Date.now().toString(36)}${process.pid}`;
  const dataDir = mkdtempSync(join(tmpdir(), "taskstream-console-"));
  const db = database(dataDir, run);
  const env = {
    ...process.env,
    DATABASE_URL: db.url,
    TASKSTREAM_DATA_DIR: dataDir,
    TASKSTREAM_LISTEN: "127.0.0.1:0",
    TASKSTREAM_CONSOLE_LOCAL_SIGNIN: "true",
    TASKSTREAM_WEBHOOK_ALLOW: "127.0.0.1/32",
    TASKSTREAM_TOPIC_PREFIX: `console-${run}-`,
    TASKSTREAM_LOG_FORMAT: "json",
    TASKSTREAM_LOG: "info",
    KAFKA_BOOTSTRAP_SERVERS: brokers,
    KAFKA_FETCH_WAIT_MAX_MS: "10",
  };
  const child = spawn("setpriv", ["--pdeathsig", "KILL", "--", bin, "all"], { env, stdio: ["ignore", "pipe", "pipe"] });
  const log = [];
  let address = null;
  const read = (chunk) => {
    for (const line of chunk.toString().split("\n")) {
      if (!line) continue;
      log.push(line);
      if (log.length > 2000) log.shift();
      const found = /API listening.*"address":"([^"]+)"/.exec(line) || /"address":"([^"]+)".*API listening/.exec(line);
      if (found) address = found[1];
    }
  };
  child.stdout.on("data", read);
  child.stderr.on("data", read);
  let exited = null;
  child.on("exit", (code, signal) => { exited = `exited (${code ?? signal})`; });

  const stop = async () => {
    if (exited === null) {
      child.kill("SIGTERM");
      await waitFor("taskstream to stop after SIGTERM", 30000, () => exited !== null).catch(() => child.kill("SIGKILL"));
    }
    db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitFor("taskstream to listen", 30000, () => {
      if (exited) throw new Error(`taskstream ${exited}: ${log.slice(-5).join("\n")}`);
      return address;
    });
    const base = `http://${address}`;
    // Ready means the database, the broker and every role are: the flows below need them all.
    await waitFor("taskstream to be ready (/readyz)", 60000, async () => {
      if (exited) throw new Error(`taskstream ${exited}`);
      const response = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(5000) });
      return response.ok;
    }, 250);
    return { base, stop, log };
  } catch (error) {
    await stop();
    throw error;
  }
}
