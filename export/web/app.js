// Samples an exported gan-zoo generator in the browser with onnxruntime-web (wasm backend).
// The page lives in <export>/web/; it reads ../manifest.json and ../generator.onnx and loads
// onnxruntime-web from its own folder, so it needs no network beyond the server it came from.
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

class Generator {
  constructor(manifest, session) {
    this.manifest = manifest;
    this.session = session;
    this.specs = manifest.generator.inputs;
    this.output = manifest.generator.outputs[0].name;
  }

  // inputs: {name: one entry per example (a number, or an array of numbers)} -> ort.Tensor
  async run(inputs) {
    const n = inputs.z.length;
    const feeds = {};
    for (const spec of this.specs) {
      const rows = inputs[spec.name];
      const dims = spec.shape.slice(1);
      const width = dims.reduce((a, b) => a * b, 1);
      const flat = rows?.flat(Infinity) ?? [];
      if (!rows || rows.length !== n || flat.length !== n * width) {
        throw new Error(`input ${spec.name}: expected ${n} examples of shape [${dims}]`);
      }
      if (!(spec.dtype in TYPED)) throw new Error(`input ${spec.name}: dtype ${spec.dtype} is not supported`);
      feeds[spec.name] = new ort.Tensor(spec.dtype, TYPED[spec.dtype].from(flat), [n, ...dims]);
    }
    return (await this.session.run(feeds))[this.output];
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

function sizeCanvas(canvas, width, height, zoom) {
  canvas.width = width;
  canvas.height = height;
  canvas.style.width = `${width * zoom}px`;
  canvas.style.height = `${height * zoom}px`;
}

class Page {
  constructor(manifest, generator) {
    this.manifest = manifest;
    this.generator = generator;
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

  // Draws G's inputs for the grid, the way the zoo does: discrete values cycle by column.
  drawInputs() {
    const uniform = uniformSource(this.seed);
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

  async resample() {
    this.inputs = this.drawInputs();
    const images = await this.generator.run(this.inputs);
    const ctx = this.grid.getContext("2d");
    const picture = ctx.createImageData(this.grid.width, this.grid.height);
    for (let i = 3; i < picture.data.length; i += 4) picture.data[i] = 255; // opaque black padding
    for (let i = 0; i < this.n; i++) {
      const row = Math.floor(i / this.cols);
      const col = i % this.cols;
      paint(picture.data, this.gridWidth, images, i, PAD + col * (this.w + PAD), PAD + row * (this.h + PAD));
    }
    ctx.putImageData(picture, 0, 0);
    this.buildControls();
    await this.redrawFirst();
  }

  async redrawFirst() {
    const image = await this.generator.run(this.first());
    const cell = this.grid.getContext("2d").createImageData(this.w, this.h);
    paint(cell.data, this.w, image, 0, 0, 0);
    this.grid.getContext("2d").putImageData(cell, PAD, PAD);
    this.focus.getContext("2d").putImageData(cell, 0, 0);
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

async function load() {
  const manifest = await (await fetchOk("../manifest.json")).json();
  if (manifest.image_layout !== "NHWC" || manifest.latent_distribution !== "standard_normal") {
    throw new Error("this page reads NHWC images from a standard-normal latent only");
  }
  const model = await (await fetchOk(`../${manifest.generator.onnx}`)).arrayBuffer();
  const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
  page = new Page(manifest, new Generator(manifest, session));
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
  idle: () => queue,
  inputs: () => page?.inputs, // what the grid was drawn from (the first sample: the controls)
};
