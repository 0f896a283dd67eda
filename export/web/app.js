// Samples an exported gan-zoo generator in the browser with onnxruntime-web (wasm backend).
// The page lives in <export>/web/; it reads ../manifest.json and ../generator.onnx (and, when
// the export has a judge, ../judge.onnx, ../refine.onnx and, for class rules from a classifier,
// ../classifier.onnx) and loads onnxruntime-web from its own folder, so it needs no network
// beyond its server.
import * as ort from "./ort.wasm.bundle.min.mjs";

// The .wasm from this folder. Only the wasm path is set: a folder prefix would also make the
// bundle import its JavaScript glue from a separate file, which the bundle already embeds.
ort.env.wasm.wasmPaths = { wasm: new URL("./ort-wasm-simd-threaded.wasm", import.meta.url).href };
ort.env.wasm.numThreads = 1; // one thread needs no SharedArrayBuffer, so no cross-origin isolation

const ROWS = 4; // grid rows; columns are the classes (or code values) when there are any
const PAD = 2; // pixels between grid cells, as zoo/images.py draws grids
const GRID_ZOOM = 3;
const FOCUS_ZOOM = 8;
const Z_RANGE = 3; // z sliders span [-3, 3]
const ACCEPTED = [0, 200, 80]; // the frame of a sample the judge accepts
const REJECTED = [220, 40, 40]; // and of one it rejects
const MAX_ROUNDS = 50; // "only good enough" gives up after this many grids' worth of draws
// Refinement's defaults, as zoo/contract.py sets them (REFINE_STEP_SIZE, REFINE_NOISE, REFINE_BOUND).
const REFINE = { stepSize: 0.01, noise: 1.0, bound: 3.0 };

// mulberry32: a small seeded uniform generator; "new samples" moves to the next seed.
function uniformSource(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(uniform) {
  // Box-Muller; 1 - u keeps log away from 0.
  return Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

const TYPED = { float32: Float32Array, int32: Int32Array };

async function fetchOk(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

// The discrete input that picks the grid's columns: the class, else a categorical code.
function discreteInput(manifest) {
  if (manifest.num_classes) return { name: "label", size: manifest.num_classes };
  for (const [name, code] of Object.entries(manifest.codes ?? {})) {
    if (code.kind === "categorical") return { name, size: code.size };
  }
  return null;
}

// inputs: {name: one entry per example (a number, or an array of numbers)} -> {name: ort.Tensor}
function feeds(specs, inputs) {
  const n = inputs.z.length;
  const fed = {};
  for (const spec of specs) {
    const rows = inputs[spec.name];
    const dims = spec.shape.slice(1);
    const width = dims.reduce((a, b) => a * b, 1);
    const flat = rows?.flat(Infinity) ?? [];
    if (!rows || rows.length !== n || flat.length !== n * width) {
      throw new Error(`input ${spec.name}: expected ${n} examples of shape [${dims}]`);
    }
    if (!(spec.dtype in TYPED)) throw new Error(`input ${spec.name}: dtype ${spec.dtype} is not supported`);
    fed[spec.name] = new ort.Tensor(spec.dtype, TYPED[spec.dtype].from(flat), [n, ...dims]);
  }
  return fed;
}

class Generator {
  constructor(manifest, session) {
    this.session = session;
    this.specs = manifest.generator.inputs;
    this.output = manifest.generator.outputs[0].name;
  }

  async run(inputs) {
    return (await this.session.run(feeds(this.specs, inputs)))[this.output];
  }
}

// Refinement (zoo/contract.py's `langevin`): Langevin steps on z, the gradient of the energy
// ||z||^2 / 2 - (the judge's calibrated logit) from refine.onnx; labels and codes stay. The
// noise comes from the page's own generator, not numpy's: the page's refined samples are
// Python's in law, and equal to them when the noise is 0.
class Refiner {
  constructor(manifest, session) {
    this.session = session;
    this.specs = manifest.refine.inputs;
  }

  async refine(inputs, steps, uniform, { stepSize, noise, bound } = REFINE) {
    let z = inputs.z.map((row) => row.slice());
    const scale = noise * Math.sqrt(stepSize);
    for (let step = 0; step < steps; step++) {
      const gradient = (await this.session.run(feeds(this.specs, { ...inputs, z }))).gradient.data;
      const width = z[0].length;
      z = z.map((row, i) =>
        row.map((v, k) => {
          const moved = v - 0.5 * stepSize * gradient[i * width + k] + (scale ? scale * normal(uniform) : 0);
          return Math.min(bound, Math.max(-bound, moved));
        }),
      );
    }
    return { ...inputs, z };
  }
}

// The judge's rules, as export/sample.py applies them (`accepted` there): thresholds are
// P(real) values compared on the calibrated-logit scale.
function logitOf(p) {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  return Math.log(p) - Math.log1p(-p);
}

function drsF(logit, maxLogit, gamma, epsilon) {
  const d = Math.min(logit - maxLogit, 0);
  return d - Math.log1p(-Math.exp(d - epsilon)) - gamma;
}

const CLASS_RULES = new Set(["class-real-quantile", "class-share"]);

class Judge {
  constructor(manifest, session, classifier) {
    this.card = manifest.judge_calibration;
    this.rule = this.card.rule ?? "precision";
    this.params = this.card.rules?.[this.rule];
    if (!this.params) throw new Error(`the judge has no ${this.rule} rule`);
    this.session = session;
    this.classifier = classifier; // for class rules of an unconditional GAN
    this.classifierOutput = manifest.classifier?.outputs[0].name;
    this.classesFrom = this.card.classes_from ?? null;
    // "Only good enough" refines first by the judge's own steps (a critic's: 20), as
    // `ganzoo sample --filter judge` does, unless the refine field asks for others.
    this.refineSteps = this.card.refinement?.steps ?? 0;
  }

  accepts(logit, cls, uniform) {
    const p = this.params;
    if (CLASS_RULES.has(this.rule)) return logit >= logitOf(p.thresholds[cls]);
    if (this.rule === "drs") {
      const keep = 1 / (1 + Math.exp(-drsF(logit, p.max_logit, p.gamma, p.epsilon ?? 1e-6)));
      return uniform() < keep;
    }
    return logit >= logitOf(p.threshold);
  }

  // images: G's output tensor; inputs: what G was fed. -> [{pReal, logit, cls, accepted}]
  async judge(images, inputs, uniform) {
    const out = await this.session.run({ image: images });
    const pReal = out.p_real.data;
    const logits = out.logit.data;
    const n = images.dims[0];
    let classes = null;
    if (this.classesFrom === "label") classes = inputs.label;
    else if (this.classesFrom === "classifier") {
      const scores = (await this.classifier.run({ image: images }))[this.classifierOutput];
      const k = scores.dims[1];
      classes = Array.from({ length: n }, (_, i) => {
        let best = 0;
        for (let j = 1; j < k; j++) if (scores.data[i * k + j] > scores.data[i * k + best]) best = j;
        return best;
      });
    }
    if (CLASS_RULES.has(this.rule) && !classes) throw new Error(`the ${this.rule} rule needs classes`);
    return Array.from({ length: n }, (_, i) => {
      const cls = classes ? classes[i] : null;
      return { pReal: pReal[i], logit: logits[i], cls, accepted: this.accepts(logits[i], cls, uniform) };
    });
  }
}

// Writes example `index` of an NHWC tensor in [-1, 1] into `pixels` (RGBA) at (x0, y0).
function paint(pixels, width, tensor, index, x0, y0) {
  const [, h, w, c] = tensor.dims;
  const data = tensor.data;
  const base = index * h * w * c;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const from = base + (y * w + x) * c;
      const to = ((y0 + y) * width + (x0 + x)) * 4;
      for (let k = 0; k < 3; k++) {
        const v = data[from + (c === 1 ? 0 : k)];
        pixels[to + k] = Math.min(255, Math.max(0, Math.round((v + 1) * 127.5)));
      }
      pixels[to + 3] = 255;
    }
  }
}

// A one-pixel frame just outside the cell at (x0, y0): in the padding, so the image is untouched.
function frame(pixels, width, x0, y0, w, h, colour) {
  const put = (x, y) => {
    const to = (y * width + x) * 4;
    pixels.set([...colour, 255], to);
  };
  for (let x = x0 - 1; x <= x0 + w; x++) {
    put(x, y0 - 1);
    put(x, y0 + h);
  }
  for (let y = y0; y < y0 + h; y++) {
    put(x0 - 1, y);
    put(x0 + w, y);
  }
}

function sizeCanvas(canvas, width, height, zoom) {
  canvas.width = width;
  canvas.height = height;
  canvas.style.width = `${width * zoom}px`;
  canvas.style.height = `${height * zoom}px`;
}

class Page {
  constructor(manifest, generator, judge, refiner) {
    this.manifest = manifest;
    this.generator = generator;
    this.judge = judge; // null when the export has no judge
    this.refiner = refiner; // null when the export has no refinement graph
    this.onlyGood = false;
    this.refineSteps = 0;
    [this.h, this.w, this.c] = manifest.image_shape;
    this.discrete = discreteInput(manifest);
    this.cols = this.discrete ? this.discrete.size : 4;
    this.n = ROWS * this.cols;
    this.seed = 1;
    this.grid = document.getElementById("grid");
    this.focus = document.getElementById("focus");
    this.gridWidth = this.cols * (this.w + PAD) + PAD;
    sizeCanvas(this.grid, this.gridWidth, ROWS * (this.h + PAD) + PAD, GRID_ZOOM);
    sizeCanvas(this.focus, this.w, this.h, FOCUS_ZOOM);
  }

  // G's inputs for the grid from `seed`, refined by `steps` Langevin steps when there are any.
  async drawInputs(seed, steps = this.refineSteps) {
    const inputs = this.plainInputs(seed);
    if (!this.refiner || !steps) return inputs;
    return this.refiner.refine(inputs, steps, uniformSource(seed ^ 0x4ef));
  }

  // Draws G's inputs for the grid, the way the zoo does: discrete values cycle by column.
  plainInputs(seed) {
    const uniform = uniformSource(seed);
    const inputs = { z: [] };
    for (let i = 0; i < this.n; i++) {
      inputs.z.push(Array.from({ length: this.manifest.latent_dim }, () => normal(uniform)));
    }
    if (this.manifest.num_classes) {
      inputs.label = Array.from({ length: this.n }, (_, i) => i % this.manifest.num_classes);
    }
    for (const [name, code] of Object.entries(this.manifest.codes ?? {})) {
      inputs[name] = Array.from({ length: this.n }, (_, i) =>
        code.kind === "categorical"
          ? i % code.size
          : Array.from({ length: code.size }, () => code.low + (code.high - code.low) * uniform()),
      );
    }
    return inputs;
  }

  // The first sample's inputs, as the controls set them.
  first() {
    return Object.fromEntries(Object.entries(this.inputs).map(([name, rows]) => [name, [rows[0]]]));
  }

  // DRS draws its chances from here: seeded by the grid, so a grid's verdicts are reproducible.
  chances(seed) {
    return uniformSource(seed ^ 0x5eed);
  }

  // One grid of fresh samples, judged when there is a judge.
  async drawOnce() {
    const inputs = await this.drawInputs(this.seed);
    const images = await this.generator.run(inputs);
    const verdicts = this.judge ? await this.judge.judge(images, inputs, this.chances(this.seed)) : null;
    return { inputs, images, verdicts };
  }

  // "Only good enough": draws grids until every cell holds an accepted sample; a cell of a
  // column keeps that column's class (or code value), so the grid stays one column per value.
  async drawAccepted() {
    const picked = new Array(this.n).fill(null);
    for (let round = 0; round < MAX_ROUNDS && picked.includes(null); round++) {
      const seed = this.seed * MAX_ROUNDS + round;
      const inputs = await this.drawInputs(seed, this.refineSteps || this.judge.refineSteps);
      const images = await this.generator.run(inputs);
      const verdicts = await this.judge.judge(images, inputs, this.chances(seed));
      verdicts.forEach((verdict, j) => {
        if (!verdict.accepted) return;
        const slot = picked.findIndex((p, i) => p === null && (!this.discrete || i % this.cols === j % this.cols));
        if (slot >= 0) picked[slot] = { inputs, j, verdict };
      });
    }
    if (picked.includes(null)) {
      throw new Error(`the judge accepted too few samples in ${MAX_ROUNDS} grids; turn "only good enough" off`);
    }
    const inputs = Object.fromEntries(
      Object.keys(picked[0].inputs).map((name) => [name, picked.map((p) => p.inputs[name][p.j])]),
    );
    return { inputs, images: await this.generator.run(inputs), verdicts: picked.map((p) => p.verdict) };
  }

  cellOrigin(i) {
    return [PAD + (i % this.cols) * (this.w + PAD), PAD + Math.floor(i / this.cols) * (this.h + PAD)];
  }

  async resample() {
    const drawn = this.onlyGood && this.judge ? await this.drawAccepted() : await this.drawOnce();
    this.inputs = drawn.inputs;
    this.verdicts = drawn.verdicts;
    const ctx = this.grid.getContext("2d");
    const picture = ctx.createImageData(this.grid.width, this.grid.height);
    for (let i = 3; i < picture.data.length; i += 4) picture.data[i] = 255; // opaque black padding
    for (let i = 0; i < this.n; i++) {
      const [x0, y0] = this.cellOrigin(i);
      paint(picture.data, this.gridWidth, drawn.images, i, x0, y0);
      if (this.verdicts) {
        frame(picture.data, this.gridWidth, x0, y0, this.w, this.h, this.verdicts[i].accepted ? ACCEPTED : REJECTED);
      }
    }
    ctx.putImageData(picture, 0, 0);
    this.buildControls();
    await this.redrawFirst(false);
  }

  // Redraws the first sample from the controls; `rejudge`: judge it again (its inputs moved).
  async redrawFirst(rejudge = true) {
    const inputs = this.first();
    const image = await this.generator.run(inputs);
    const cell = this.grid.getContext("2d").createImageData(this.w, this.h);
    paint(cell.data, this.w, image, 0, 0, 0);
    const ctx = this.grid.getContext("2d");
    ctx.putImageData(cell, PAD, PAD);
    this.focus.getContext("2d").putImageData(cell, 0, 0);
    if (this.judge) {
      if (rejudge) {
        [this.verdicts[0]] = await this.judge.judge(image, inputs, this.chances(this.seed + 0x1000));
        const ring = ctx.getImageData(PAD - 1, PAD - 1, this.w + 2, this.h + 2);
        frame(ring.data, this.w + 2, 1, 1, this.w, this.h, this.verdicts[0].accepted ? ACCEPTED : REJECTED);
        ctx.putImageData(ring, PAD - 1, PAD - 1);
      }
      this.describe();
    }
  }

  // The judge's line: how many of the grid it accepts, and the sample under the pointer.
  describe(index = null) {
    const line = document.getElementById("verdict");
    const kept = this.verdicts.filter((v) => v.accepted).length;
    let text = `judge (${this.judge.rule}): ${kept} of ${this.n} accepted, green frame; rejected: red.`;
    if (index !== null) {
      const v = this.verdicts[index];
      const cls = v.cls === null ? "" : ` (class ${v.cls})`;
      text = `sample ${index}${cls}: P(real) ${v.pReal.toFixed(4)}, ${v.accepted ? "accepted" : "rejected"}`;
    }
    line.textContent = text;
  }

  cellAt(event) {
    const x = Math.floor(event.offsetX / GRID_ZOOM) - PAD;
    const y = Math.floor(event.offsetY / GRID_ZOOM) - PAD;
    const col = Math.floor(x / (this.w + PAD));
    const row = Math.floor(y / (this.h + PAD));
    if (x < 0 || y < 0 || col >= this.cols || row >= ROWS) return null;
    return row * this.cols + col;
  }

  buildControls() {
    const panel = document.getElementById("controls");
    panel.replaceChildren();
    const heading = (text) => panel.appendChild(Object.assign(document.createElement("h2"), { textContent: text }));
    const slider = (name, row, k, low, high) => {
      const label = document.createElement("label");
      const input = Object.assign(document.createElement("input"), { type: "range", min: low, max: high, step: 0.01 });
      input.dataset.input = name;
      input.value = row[k];
      const shown = Object.assign(document.createElement("span"), { textContent: row[k].toFixed(2) });
      input.addEventListener("input", () => {
        row[k] = Number(input.value);
        shown.textContent = row[k].toFixed(2);
        redrawSoon();
      });
      label.append(`${name}[${k}]`, input, shown);
      panel.appendChild(label);
    };
    const select = (name, size) => {
      const label = document.createElement("label");
      const input = document.createElement("select");
      input.dataset.input = name;
      for (let v = 0; v < size; v++) input.add(new Option(String(v), String(v)));
      input.value = String(this.inputs[name][0]);
      input.addEventListener("change", () => {
        this.inputs[name][0] = Number(input.value);
        redrawSoon();
      });
      label.append(name, input);
      panel.appendChild(label);
    };
    heading("z (standard normal)");
    this.inputs.z[0].forEach((_, k) => slider("z", this.inputs.z[0], k, -Z_RANGE, Z_RANGE));
    if (this.manifest.num_classes) {
      heading("class");
      select("label", this.manifest.num_classes);
    }
    for (const [name, code] of Object.entries(this.manifest.codes ?? {})) {
      heading(`${name} (${code.kind})`);
      if (code.kind === "categorical") select(name, code.size);
      else this.inputs[name][0].forEach((_, k) => slider(name, this.inputs[name][0], k, code.low, code.high));
    }
  }
}

const status = document.getElementById("status");
let page = null;
let queue = Promise.resolve(); // redraws run one at a time, in order
let pending = false;

function showError(error) {
  status.textContent = `error: ${error.message ?? error}`;
  status.className = "error";
}

function schedule(task) {
  queue = queue.then(task).catch(showError);
  return queue;
}

// Slider moves arrive faster than G runs; one queued redraw reads the latest values.
function redrawSoon() {
  if (pending) return queue;
  pending = true;
  return schedule(async () => {
    pending = false;
    await page.redrawFirst();
  });
}

async function session(file) {
  const model = await (await fetchOk(`../${file}`)).arrayBuffer();
  return ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
}

async function load() {
  const manifest = await (await fetchOk("../manifest.json")).json();
  if (manifest.image_layout !== "NHWC" || manifest.latent_distribution !== "standard_normal") {
    throw new Error("this page reads NHWC images from a standard-normal latent only");
  }
  const generator = new Generator(manifest, await session(manifest.generator.onnx));
  let judge = null;
  let refiner = null;
  if (manifest.judge && manifest.judge_calibration) {
    const classes = manifest.judge_calibration.classes_from === "classifier";
    const classifier = classes ? await session(manifest.classifier.onnx) : null;
    judge = new Judge(manifest, await session(manifest.judge.onnx), classifier);
    if (manifest.refine) refiner = new Refiner(manifest, await session(manifest.refine.onnx));
  }
  page = new Page(manifest, generator, judge, refiner);
  await page.resample();
  const [h, w, c] = manifest.image_shape;
  status.textContent =
    `${manifest.variant}: latent_dim ${manifest.latent_dim}, images ${h}×${w}×${c}; ` +
    `onnxruntime-web ${ort.env.versions?.web ?? ""} (wasm, 1 thread)`;
  const button = document.getElementById("resample");
  button.disabled = false;
  button.addEventListener("click", () =>
    schedule(async () => {
      page.seed += 1;
      await page.resample();
    }),
  );
  if (judge) {
    enable("only-good", "judging", (toggle) => {
      page.onlyGood = toggle.checked;
    });
    page.grid.addEventListener("mousemove", (event) => page.describe(page.cellAt(event)));
    page.grid.addEventListener("mouseleave", () => page.describe());
  }
  if (refiner) {
    enable("refine-steps", "refining", (steps) => {
      page.refineSteps = Math.max(0, Math.round(Number(steps.value) || 0));
    });
  }
}

// Shows a control's group and enables it; a change applies it to the page and redraws the grid.
function enable(id, group, apply) {
  const control = document.getElementById(id);
  document.getElementById(group).hidden = false;
  control.disabled = false;
  control.addEventListener("change", () =>
    schedule(async () => {
      apply(control);
      await page.resample();
    }),
  );
}

const ready = load();
ready.catch(showError);

// For tests and the console: run G on given inputs, and wait for pending redraws.
window.ganzoo = {
  ready,
  async run(z, extra = {}) {
    await ready;
    const image = await page.generator.run({ z, ...extra });
    return { image: Array.from(image.data), dims: image.dims.slice() };
  },
  // Refinement of given inputs (`noise` 0: deterministic, to compare with Python).
  async refine(z, extra = {}, steps = 1, stepSize = REFINE.stepSize, noise = REFINE.noise, seed = 1) {
    await ready;
    if (!page.refiner) throw new Error("this export has no refinement graph");
    const options = { stepSize, noise, bound: REFINE.bound };
    return (await page.refiner.refine({ z, ...extra }, steps, uniformSource(seed), options)).z;
  },
  idle: () => queue,
  inputs: () => page?.inputs, // what the grid was drawn from (the first sample: the controls)
  verdicts: () => page?.verdicts ?? null, // the judge's, per grid cell: {pReal, logit, cls, accepted}
};
