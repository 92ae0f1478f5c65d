// Loads aigw's status page in Debian's chromium (headless, driven by
// playwright-core) and prints what a person would see, as JSON lines:
//   node status_page.mjs URL SIGNAL_FILE SCREENSHOT
// 1. the page as first shown (after its first refresh);
// 2. when SIGNAL_FILE appears, the page again once it has refreshed by
//    itself (no reload) and its "Recent refusals" table changed.
import fs from "node:fs";
import { chromium } from "playwright-core";

const [url, signal, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

function table(id) {
  const t = document.getElementById(id);
  return [...t.tBodies[0].rows].map((r) => [...r.cells].map((c) => c.textContent));
}

async function view(page) {
  return {
    meta: await page.textContent("#meta"),
    authVisible: await page.isVisible("#auth"),
    cgroups: await page.evaluate(table, "cgroups"),
    models: await page.evaluate(table, "models"),
    reasons: await page.evaluate(table, "reasons"),
    refusals: await page.evaluate(table, "refusals"),
    url: page.url(),
    text: await page.evaluate(() => document.body.innerText),
  };
}

try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById("meta").textContent.startsWith("aigwd "));
  const first = await view(page);
  console.log(JSON.stringify(first));
  if (shot) await page.screenshot({ path: shot, fullPage: true });
  if (signal) {
    while (!fs.existsSync(signal)) await new Promise((r) => setTimeout(r, 50));
    const before = JSON.stringify(first.refusals);
    await page.waitForFunction(
      (b) => JSON.stringify([...document.getElementById("refusals").tBodies[0].rows]
        .map((r) => [...r.cells].map((c) => c.textContent))) !== b,
      before, { timeout: 15000 });
    console.log(JSON.stringify(await view(page)));
  }
} finally {
  await browser.close();
}
