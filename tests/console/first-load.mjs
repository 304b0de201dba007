// Measures the console's first load in fresh browser contexts (no cache): bytes transferred
// and when the page is usable (the sign-in form shown and focused: the `console-usable` mark).
// Usage: node first-load.mjs http://127.0.0.1:8080 [runs]
import { chromium } from "playwright-core";

const [base, runs = "5"] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
const samples = [];
for (let i = 0; i < Number(runs); i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const client = await context.newCDPSession(page);
  await client.send("Network.enable");
  let bytes = 0;
  client.on("Network.loadingFinished", (event) => { bytes += event.encodedDataLength; });
  await page.goto(base);
  await page.waitForFunction(() => performance.getEntriesByName("console-usable").length > 0, null, { timeout: 10000 });
  const usable = await page.evaluate(() => Math.round(performance.getEntriesByName("console-usable")[0].startTime));
  samples.push({ bytes, usable });
  await context.close();
}
await browser.close();
const sorted = samples.map((s) => s.usable).sort((a, b) => a - b);
console.log(JSON.stringify({ runs: samples.length, bytes: samples[0].bytes, usable_ms: sorted, median_ms: sorted[Math.floor(sorted.length / 2)] }));
