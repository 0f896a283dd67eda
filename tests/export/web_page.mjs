// Drives the sampling page in headless Chromium with playwright-core (from export/web/node_modules).
// Reads a job as JSON on stdin: {url, chromium, cases: [{z, extra}], screenshot?}; prints the
// results as JSON (and with `screenshot`, saves a PNG of the page after "new samples"):
// what the page shows after loading, after a slider moves, after "new samples" and, when the
// export has a judge, after "only good enough" is ticked and with refinement on.
// Every request the browser makes is recorded; any not addressed to 127.0.0.1 is refused.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(path.join(root, "export/web/package.json"));
const { chromium } = require("playwright-core");

const job = JSON.parse(readFileSync(0, "utf8"));
const requests = [];
const errors = [];

// launch() starts from a fresh, temporary user data dir and removes it on close.
const browser = await chromium.launch({
  executablePath: job.chromium,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const result = { requests, errors };
try {
  const context = await browser.newContext();
  context.on("request", (request) => requests.push(request.url()));
  await context.route("**/*", (route) =>
    new URL(route.request().url()).hostname === "127.0.0.1" ? route.continue() : route.abort(),
  );
  const page = await context.newPage();
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
  page.setDefaultTimeout(60_000);

  // What the page shows and what it drew it from.
  const snapshot = () =>
    page.evaluate(() => {
      const read = (id) => {
        const canvas = document.getElementById(id);
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        return { width: canvas.width, height: canvas.height, rgba: Array.from(data) };
      };
      return {
        inputs: window.ganzoo.inputs(),
        verdicts: window.ganzoo.verdicts(),
        verdict: document.getElementById("verdict").textContent,
        grid: read("grid"),
        focus: read("focus"),
      };
    });

  await page.goto(job.url);
  await page.waitForFunction(() => window.ganzoo !== undefined);
  result.ready = await page.evaluate(() => window.ganzoo.ready.then(() => "ok", (e) => String(e)));
  result.status = await page.textContent("#status");
  if (result.ready === "ok") {
    result.loaded = await snapshot();
    result.runs = [];
    for (const { z, extra } of job.cases) {
      result.runs.push(await page.evaluate(([z, extra]) => window.ganzoo.run(z, extra), [z, extra]));
    }

    // Moving the first z slider to the other end redraws the first sample.
    await page.evaluate(() => {
      const slider = document.querySelector('input[data-input="z"]');
      slider.value = Number(slider.value) > 0 ? slider.min : slider.max;
      slider.dispatchEvent(new Event("input"));
      return window.ganzoo.idle();
    });
    result.slid = await snapshot();

    // "new samples" redraws the grid from new inputs.
    await page.click("#resample");
    await page.evaluate(() => window.ganzoo.idle());
    result.resampled = await snapshot();

    if (job.screenshot) {
      await page.hover("#grid", { position: { x: 45, y: 45 } }); // the first sample's P(real)
      await page.screenshot({ path: job.screenshot, fullPage: true });
    }

    // "only good enough" redraws until the grid holds accepted samples only.
    if (await page.isEnabled("#only-good")) {
      await page.check("#only-good");
      await page.evaluate(() => window.ganzoo.idle());
      result.filtered = await snapshot();
      await page.uncheck("#only-good");
      await page.evaluate(() => window.ganzoo.idle());
    }

    // Refinement: 3 noiseless steps of the test's first case, then the grid refined by 5 steps.
    if (await page.isEnabled("#refine-steps")) {
      const { z, extra } = job.cases[0];
      result.refined = await page.evaluate(([z, extra]) => window.ganzoo.refine(z, extra, 3, 0.05, 0), [z, extra]);
      result.unrefined = await snapshot();
      await page.fill("#refine-steps", "5");
      await page.dispatchEvent("#refine-steps", "change");
      await page.evaluate(() => window.ganzoo.idle());
      result.refinedGrid = await snapshot();
    }
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result));
