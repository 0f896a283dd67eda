// Drives a gan-zoo page in headless Chromium with playwright-core (from export/web/node_modules).
// Reads a job as JSON on stdin and prints the results as JSON:
//   {url, chromium, samplers: [{open, cases, draws, steps, screenshot?}], offline?}
// `open`: null for the export page (one sampler), else a gallery preset's name. For each
// sampler: G on the job's `cases`; the page's own draws of G's inputs (`draws`: [{n, seed,
// steering}]); a snapshot after loading and after each of `steps` (a control set, a button
// pressed, the walk, refinement); `screenshot`: a picture of the page after the last step.
// Every request is recorded; with `offline` (a page opened from disk) only file: and blob:
// URLs are allowed, otherwise only 127.0.0.1.
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
const allowed = (url) => {
  const { protocol, hostname } = new URL(url);
  return job.offline ? protocol === "file:" || protocol === "blob:" || protocol === "data:" : hostname === "127.0.0.1";
};
const result = { requests, errors, samplers: [] };
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.on("request", (request) => requests.push(request.url()));
  await context.route("**/*", (route) => (allowed(route.request().url()) ? route.continue() : route.abort()));
  const page = await context.newPage();
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
  page.setDefaultTimeout(60_000);
  await page.goto(job.url);
  await page.waitForFunction(() => window.ganzoo !== undefined);
  result.ready = await page.evaluate(() => window.ganzoo.ready.then(() => "ok", (e) => String(e)));

  for (const spec of job.samplers) {
    // The sampler's api (the export page's one, or a gallery card's once opened) and its root.
    const handle = await page.evaluateHandle(
      (name) => (name === null ? window.ganzoo.sampler() : window.ganzoo.open(name)),
      spec.open,
    );
    const scope = spec.open === null ? "#sampler" : `#${spec.open} .live`;
    const out = { open: spec.open };
    result.samplers.push(out);
    out.ready = await handle.evaluate((api) => api.ready.then((status) => ({ status }), (e) => ({ error: String(e) })));
    if (out.ready.error) continue;
    const snapshot = () =>
      handle.evaluate(async (api, scope) => {
        await api.idle();
        const read = (view) => {
          const canvas = document.querySelector(`${scope} [data-view="${view}"]`);
          const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
          return { width: canvas.width, height: canvas.height, rgba: Array.from(data) };
        };
        return {
          inputs: api.inputs(),
          verdicts: api.verdicts(),
          steering: api.steering(),
          verdict: document.querySelector(`${scope} [data-view="verdict"]`).textContent,
          error: document.querySelector(`${scope} [data-view="error"]`).textContent,
          grid: read("grid"),
          focus: read("focus"),
          walk: read("walk"),
        };
      }, scope);
    const control = (name) => page.locator(`${scope} [data-control="${name}"]`);

    out.loaded = await snapshot();
    out.runs = [];
    for (const { z, extra } of spec.cases ?? []) out.runs.push(await handle.evaluate((api, [z, extra]) => api.run(z, extra), [z, extra]));
    out.draws = [];
    for (const { n, seed, steering } of spec.draws ?? []) {
      out.draws.push(await handle.evaluate((api, [n, seed, steering]) => api.sampleInputs(n, seed, steering), [n, seed, steering]));
    }
    out.steps = [];
    for (const step of spec.steps ?? []) {
      const taken = { step };
      if (step.select) await control(step.select).selectOption(step.value);
      if (step.fill) {
        await control(step.fill).fill(String(step.value));
        await control(step.fill).dispatchEvent("change");
      }
      if (step.range) {
        await control(step.range).evaluate((input, value) => {
          input.value = value;
          input.dispatchEvent(new Event("input"));
          input.dispatchEvent(new Event("change"));
        }, step.value);
      }
      if (step.check) await control(step.check).setChecked(step.value);
      if (step.click) await control(step.click).click();
      if (step.slideFirstZ) {
        await page.locator(`${scope} input[data-input="z"]`).first().evaluate((slider) => {
          slider.value = Number(slider.value) > 0 ? slider.min : slider.max;
          slider.dispatchEvent(new Event("input"));
        });
      }
      if (step.refine) {
        const { z, extra, steps, stepSize, noise, seed } = step.refine;
        taken.refined = await handle.evaluate((api, a) => api.refine(...a), [z, extra, steps, stepSize, noise, seed]);
      }
      if (step.walk) {
        await control("walk").click();
        await handle.evaluate((api) => api.idle());
        taken.walked = await handle.evaluate((api) => api.walked());
        taken.frames = [];
        for (const k of step.walk) {
          await handle.evaluate((api, k) => api.showFrame(k), k);
          taken.frames.push((await snapshot()).walk);
        }
      }
      taken.shown = await snapshot();
      out.steps.push(taken);
    }
    if (spec.screenshot) {
      await page.locator(spec.open === null ? "body" : `#${spec.open}`).screenshot({ path: spec.screenshot });
    }
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result));
