// A live sampler of one exported gan-zoo generator, in onnxruntime-web (wasm backend): a grid
// drawn from the steering controls (seed, class, codes, truncation), the judge's verdict
// frames and "only good enough", refinement, a walk between two samples, and the first
// sample's own inputs. The export page (app.js) shows one; the gallery (gallery.js) one per preset.
//
// Files load over http (fetch, onnxruntime-web's ES module) or, for a folder opened from disk,
// from scripts the gallery writes beside them (files.js: an export's files in base64;
// ort-offline.js: the runtime's module source and its .wasm), since a browser neither fetches
// nor imports modules from file:// pages.
"use strict";

(function () {
  const S = window.ganzooSteering;
  const ROWS = 4; // grid rows; columns are the classes (or code values) when there are any
  const PAD = 2; // pixels between grid cells, as zoo/contract.py's `grid` draws them
  const GRID_ZOOM = 3;
  const FOCUS_ZOOM = 6;
  const WALK_ZOOM = 4;
  const Z_RANGE = 3; // z sliders span [-3, 3]
  const TRUNCATION_MAX = 3; // the truncation slider's range; 0 is off
  const WALK_FRAMES = 16; // `ganzoo sample --interpolate`'s default
  const WALK_MS = 120;
  const ACCEPTED = [0, 200, 80]; // the frame of a sample the judge accepts
  const REJECTED = [220, 40, 40]; // and of one it rejects
  const MAX_ROUNDS = 50; // "only good enough" gives up after this many grids' worth of draws
  // Refinement as zoo/contract.py sets it (REFINE_STEP_SIZE, REFINE_NOISE, REFINE_BOUND, REFINE_BATCH).
  const REFINE = { stepSize: 0.01, noise: 1.0, bound: 3.0 };
  const REFINE_BATCH = 256;
  const TYPED = { float32: Float32Array, int32: Int32Array };

  // === Loading ===

  const fromDisk = location.protocol === "file:";
  const scripts = new Map();

  function script(url) {
    if (!scripts.has(url)) {
      scripts.set(
        url,
        new Promise((resolve, reject) => {
          const tag = Object.assign(document.createElement("script"), { src: url });
          tag.onload = resolve;
          const why = fromDisk ? "; to open a folder from disk, build it with `ganzoo gallery`, or serve it" : "";
          tag.onerror = () => reject(new Error(`${url} did not load${why}`));
          document.head.appendChild(tag);
        }),
      );
    }
    return scripts.get(url);
  }

  function fromBase64(text) {
    const raw = atob(text);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  // One file of an export folder, as bytes.
  async function readFile(folder, name) {
    if (fromDisk) {
      await script(`${folder}/files.js`);
      const text = window.ganzooFiles?.[folder]?.[name];
      if (text === undefined) throw new Error(`${folder}/files.js holds no ${name}`);
      return fromBase64(text);
    }
    const response = await fetch(`${folder}/${name}`);
    if (!response.ok) throw new Error(`${folder}/${name}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }

  const runtimes = new Map();

  // onnxruntime-web from the folder `dir` (relative to the page), once per page.
  function runtime(dir) {
    if (!runtimes.has(dir)) {
      runtimes.set(
        dir,
        (async () => {
          let ort;
          if (fromDisk) {
            await script(`${dir}/ort-offline.js`);
            const source = new Blob([window.ganzooOrt.source], { type: "text/javascript" });
            ort = await import(URL.createObjectURL(source));
            ort.env.wasm.wasmBinary = fromBase64(window.ganzooOrt.wasm);
          } else {
            const base = new URL(`${dir}/`, location.href);
            ort = await import(new URL("ort.wasm.bundle.min.mjs", base).href);
            // Only the wasm path: a folder prefix would make the bundle import glue it embeds.
            ort.env.wasm.wasmPaths = { wasm: new URL("ort-wasm-simd-threaded.wasm", base).href };
          }
          ort.env.wasm.numThreads = 1; // one thread needs no SharedArrayBuffer, so no cross-origin isolation
          return ort;
        })(),
      );
    }
    return runtimes.get(dir);
  }

  // An export folder's manifest and networks in sessions.
  async function openExport(folder, runtimeDir) {
    const ort = await runtime(runtimeDir);
    const manifest = JSON.parse(new TextDecoder().decode(await readFile(folder, "manifest.json")));
    if (manifest.image_layout !== "NHWC" || manifest.latent_distribution !== "standard_normal") {
      throw new Error("this page reads NHWC images from a standard-normal latent only");
    }
    const session = async (file) =>
      ort.InferenceSession.create(await readFile(folder, file), { executionProviders: ["wasm"] });
    const loaded = { ort, manifest, generator: new Network(ort, manifest.generator, await session(manifest.generator.onnx)) };
    loaded.judge = loaded.refiner = null;
    if (manifest.judge && manifest.judge_calibration) {
      const classes = manifest.judge_calibration.classes_from === "classifier";
      const classifier = classes ? await session(manifest.classifier.onnx) : null;
      loaded.judge = new Judge(manifest, await session(manifest.judge.onnx), classifier);
      if (manifest.refine) loaded.refiner = new Refiner(new Network(ort, manifest.refine, await session(manifest.refine.onnx)));
    }
    return loaded;
  }

  // === The networks ===

  // One exported network: inputs {name: one entry per example (a number or nested arrays)}.
  class Network {
    constructor(ort, described, session) {
      this.ort = ort;
      this.specs = described.inputs;
      this.outputs = described.outputs.map((o) => o.name);
      this.session = session;
    }

    feeds(inputs) {
      const n = inputs.z.length;
      const fed = {};
      for (const spec of this.specs) {
        const rows = inputs[spec.name];
        const dims = spec.shape.slice(1);
        const width = dims.reduce((a, b) => a * b, 1);
        const flat = rows?.flat(Infinity) ?? [];
        if (!rows || rows.length !== n || flat.length !== n * width) {
          throw new Error(`input ${spec.name}: expected ${n} examples of shape [${dims}]`);
        }
        if (!(spec.dtype in TYPED)) throw new Error(`input ${spec.name}: dtype ${spec.dtype} is not supported`);
        fed[spec.name] = new this.ort.Tensor(spec.dtype, TYPED[spec.dtype].from(flat), [n, ...dims]);
      }
      return fed;
    }

    async run(inputs, output = this.outputs[0]) {
      return (await this.session.run(this.feeds(inputs)))[output];
    }
  }

  // zoo/contract.py's `langevin`: z moves by Langevin steps on the energy ||z||^2 / 2 minus the
  // judge's calibrated logit (refine.onnx gives its gradient), the noise from refine_rng(seed),
  // the arithmetic rounded to float32 where numpy rounds it; labels and codes stay.
  class Refiner {
    constructor(network) {
      this.network = network;
    }

    async refine(inputs, steps, seed, { stepSize, noise, bound } = REFINE) {
      const stream = S.refineStream(seed);
      const scale = noise * Math.sqrt(stepSize);
      const half = Math.fround(0.5 * stepSize);
      const z = inputs.z.map((row) => row.slice());
      for (let start = 0; start < z.length; start += REFINE_BATCH) {
        const block = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.slice(start, start + REFINE_BATCH)]));
        let chunk = z.slice(start, start + REFINE_BATCH);
        const width = chunk[0].length;
        for (let step = 0; step < steps; step++) {
          const gradient = (await this.network.run({ ...block, z: chunk }, "gradient")).data;
          const eta = stream.normals(chunk.length * width);
          chunk = chunk.map((row, i) =>
            row.map((v, k) => {
              const moved = Math.fround(v - Math.fround(half * gradient[i * width + k]));
              return Math.fround(Math.min(bound, Math.max(-bound, moved + scale * eta[i * width + k])));
            }),
          );
        }
        chunk.forEach((row, i) => {
          z[start + i] = row;
        });
      }
      return { ...inputs, z };
    }
  }

  // The judge's rules, as zoo/contract.py's `accepted` applies them: thresholds are P(real)
  // values compared on the calibrated-logit scale; DRS's chances from drs_rng.
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

    accepts(logit, cls, chances) {
      const p = this.params;
      if (CLASS_RULES.has(this.rule)) return logit >= logitOf(p.thresholds[cls]);
      if (this.rule === "drs") {
        const keep = 1 / (1 + Math.exp(-drsF(logit, p.max_logit, p.gamma, p.epsilon ?? 1e-6)));
        return chances.uniform01() < keep;
      }
      return logit >= logitOf(p.threshold);
    }

    // images: G's output tensor; inputs: what G was fed. -> [{pReal, logit, cls, accepted}]
    async judge(images, inputs, chances) {
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
        return { pReal: pReal[i], logit: logits[i], cls, accepted: this.accepts(logits[i], cls, chances) };
      });
    }
  }

  // === Drawing ===

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
    const put = (x, y) => pixels.set([...colour, 255], (y * width + x) * 4);
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

  function element(tag, properties = {}, ...children) {
    const made = Object.assign(document.createElement(tag), properties);
    made.append(...children);
    return made;
  }

  // === The sampler ===

  class Sampler {
    constructor(root, loaded) {
      Object.assign(this, loaded); // manifest, generator, judge, refiner
      this.root = root;
      [this.h, this.w, this.c] = this.manifest.image_shape;
      this.discrete = S.classesOf(this.manifest);
      this.cols = this.discrete ? this.discrete.size : 4;
      this.n = ROWS * this.cols;
      this.steer = { seed: 1, label: null, codes: {}, truncation: null };
      this.onlyGood = false;
      this.refineSteps = 0;
      this.queue = Promise.resolve();
      this.pending = false;
      this.walkTimer = null;
      this.build();
    }

    // The page: the grid and its controls, the walk, and the first sample's inputs.
    build() {
      const view = (name, tag = "canvas") => {
        const made = element(tag, { className: name });
        made.dataset.view = name;
        return made;
      };
      this.grid = view("grid");
      this.focus = view("focus");
      this.walkCanvas = view("walk");
      this.verdictLine = view("verdict", "p");
      this.errorLine = view("error", "p");
      this.gridWidth = this.cols * (this.w + PAD) + PAD;
      sizeCanvas(this.grid, this.gridWidth, ROWS * (this.h + PAD) + PAD, GRID_ZOOM);
      sizeCanvas(this.focus, this.w, this.h, FOCUS_ZOOM);
      sizeCanvas(this.walkCanvas, this.w, this.h, WALK_ZOOM);
      this.zPanel = element("div", { className: "z-sliders" });
      this.root.replaceChildren(
        element("div", { className: "sampler" },
          element("div", { className: "view" }, this.grid, this.verdictLine, this.errorLine),
          element("div", { className: "steering" }, ...this.controls()),
          element("div", { className: "walking" }, element("p", {}, "walk from this seed's first sample to the next seed's:"), this.walkCanvas),
          element("details", { className: "first" }, element("summary", {}, "the first sample's inputs"), this.focus, this.zPanel),
        ),
      ); // prettier-ignore
      if (this.judge) {
        this.grid.addEventListener("mousemove", (event) => this.describe(this.cellAt(event)));
        this.grid.addEventListener("mouseleave", () => this.describe());
      }
    }

    // Labelled controls; each change redraws the grid.
    controls() {
      const made = [];
      const row = (text, control, shown = null) => {
        made.push(element("label", {}, text, control, ...(shown ? [shown] : [])));
        return control;
      };
      const on = (control, event, apply) =>
        control.addEventListener(event, () => this.schedule(async () => {
          apply(control);
          await this.resample();
        })); // prettier-ignore

      const seed = row("seed", element("input", { type: "number", min: 0, step: 1, value: this.steer.seed }));
      seed.dataset.control = "seed";
      on(seed, "change", () => {
        this.steer.seed = Math.max(0, Math.round(Number(seed.value) || 0));
      });
      const again = element("button", { textContent: "new samples" });
      again.dataset.control = "resample";
      made.push(element("p", {}, again));
      on(again, "click", () => {
        this.steer.seed += 1;
        seed.value = this.steer.seed;
      });

      if (this.manifest.num_classes) {
        const names = this.manifest.class_names ?? [];
        const picker = row("class", element("select"));
        picker.dataset.control = "class";
        picker.add(new Option("each in turn (one a column)", ""));
        for (let k = 0; k < this.manifest.num_classes; k++) picker.add(new Option(names[k] ? `${k}: ${names[k]}` : String(k), String(k)));
        on(picker, "change", () => {
          this.steer.label = picker.value === "" ? null : Number(picker.value);
        });
      }
      for (const [name, code] of Object.entries(this.manifest.codes ?? {})) {
        if (code.kind === "categorical") {
          const picker = row(name, element("select"));
          picker.dataset.control = `code-${name}`;
          picker.add(new Option("each in turn (one a column)", ""));
          for (let k = 0; k < code.size; k++) picker.add(new Option(String(k), String(k)));
          on(picker, "change", () => {
            if (picker.value === "") delete this.steer.codes[name];
            else this.steer.codes[name] = Number(picker.value);
          });
        } else {
          for (let k = 0; k < code.size; k++) {
            const fixed = element("input", { type: "checkbox" });
            const slider = element("input", { type: "range", min: code.low, max: code.high, step: 0.05, value: 0 });
            const shown = element("span", { textContent: "drawn" });
            slider.dataset.control = `code-${name}-${k}`;
            fixed.dataset.control = `code-${name}-${k}-fixed`;
            // A code fixed in some components and drawn in others is not in the vocabulary:
            // fixing one component fixes the others at their sliders' values.
            const apply = () => {
              const all = Array.from(this.root.querySelectorAll(`[data-control^="code-${name}-"][type=range]`), (s) => Number(s.value));
              const anyFixed = Array.from(this.root.querySelectorAll(`[data-control^="code-${name}-"][type=checkbox]`)).some((c) => c.checked);
              if (anyFixed) this.steer.codes[name] = all;
              else delete this.steer.codes[name];
            };
            on(fixed, "change", apply);
            on(slider, "change", () => {
              fixed.checked = true;
              apply();
            });
            slider.addEventListener("input", () => {
              shown.textContent = Number(slider.value).toFixed(2);
            });
            made.push(element("label", {}, `${name}[${k}]`, fixed, slider, shown));
          }
        }
      }
      const truncation = row("truncation", element("input", { type: "range", min: 0, max: TRUNCATION_MAX, step: 0.1, value: 0 }),
        element("span", { textContent: "off" })); // prettier-ignore
      truncation.dataset.control = "truncation";
      truncation.addEventListener("input", () => {
        truncation.nextSibling.textContent = Number(truncation.value) > 0 ? `±${Number(truncation.value).toFixed(1)}` : "off";
      });
      on(truncation, "change", () => {
        this.steer.truncation = Number(truncation.value) > 0 ? Number(truncation.value) : null;
      });
      if (this.judge) {
        const good = row("only good enough", element("input", { type: "checkbox" }));
        good.dataset.control = "only-good";
        on(good, "change", () => {
          this.onlyGood = good.checked;
        });
      }
      if (this.refiner) {
        const steps = row("refine (Langevin steps)", element("input", { type: "number", min: 0, max: 100, value: 0 }));
        steps.dataset.control = "refine-steps";
        on(steps, "change", () => {
          this.refineSteps = Math.max(0, Math.round(Number(steps.value) || 0));
        });
      }
      const walk = element("button", { textContent: "walk" });
      walk.dataset.control = "walk";
      walk.addEventListener("click", () => this.schedule(() => this.walk()));
      made.push(element("p", {}, walk));
      return made;
    }

    schedule(task) {
      this.queue = this.queue.then(task).catch((error) => this.showError(error));
      return this.queue;
    }

    showError(error) {
      this.errorLine.textContent = `error: ${error.message ?? error}`;
    }

    // Slider moves arrive faster than G runs; one queued redraw reads the latest values.
    redrawSoon() {
      if (this.pending) return this.queue;
      this.pending = true;
      return this.schedule(async () => {
        this.pending = false;
        await this.redrawFirst();
      });
    }

    steering() {
      return { label: this.steer.label, codes: this.steer.codes, truncation: this.steer.truncation };
    }

    // G's inputs for the grid from `seed`, refined by `steps` Langevin steps when there are any.
    async drawInputs(seed, steps = this.refineSteps) {
      const inputs = S.sampleInputs(this.manifest, this.n, seed, this.steering());
      if (!this.refiner || !steps) return inputs;
      return this.refiner.refine(inputs, steps, seed);
    }

    async drawOnce() {
      const seed = this.steer.seed;
      const inputs = await this.drawInputs(seed);
      const images = await this.generator.run(inputs);
      const verdicts = this.judge ? await this.judge.judge(images, inputs, S.drsStream(seed, 0)) : null;
      return { inputs, images, verdicts };
    }

    // "Only good enough": draws grids until every cell holds an accepted sample; while the
    // class (or code value) runs by column, a cell keeps its column's, so the grid stays one
    // column per value.
    async drawAccepted() {
      const picked = new Array(this.n).fill(null);
      const name = this.discrete?.name;
      const byColumn = name && !(name === "label" ? this.steer.label !== null : name in this.steer.codes);
      for (let round = 0; round < MAX_ROUNDS && picked.includes(null); round++) {
        const seed = this.steer.seed * MAX_ROUNDS + round;
        const inputs = await this.drawInputs(seed, this.refineSteps || this.judge.refineSteps);
        const images = await this.generator.run(inputs);
        const verdicts = await this.judge.judge(images, inputs, S.drsStream(seed, round));
        verdicts.forEach((verdict, j) => {
          if (!verdict.accepted) return;
          const slot = picked.findIndex((p, i) => p === null && (!byColumn || i % this.cols === j % this.cols));
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
      this.errorLine.textContent = "";
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
      this.buildSliders();
      await this.redrawFirst(false);
    }

    // The first sample's inputs, as its sliders set them.
    first() {
      return Object.fromEntries(Object.entries(this.inputs).map(([name, rows]) => [name, [rows[0]]]));
    }

    // Redraws the first sample from its sliders; `rejudge`: judge it again (its inputs moved).
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
          [this.verdicts[0]] = await this.judge.judge(image, inputs, S.drsStream(this.steer.seed, 0x1000));
          const ring = ctx.getImageData(PAD - 1, PAD - 1, this.w + 2, this.h + 2);
          frame(ring.data, this.w + 2, 1, 1, this.w, this.h, this.verdicts[0].accepted ? ACCEPTED : REJECTED);
          ctx.putImageData(ring, PAD - 1, PAD - 1);
        }
        this.describe();
      }
    }

    // The judge's line: how many of the grid it accepts, and the sample under the pointer.
    describe(index = null) {
      if (!this.verdicts) return;
      const kept = this.verdicts.filter((v) => v.accepted).length;
      let text = `judge (${this.judge.rule}): ${kept} of ${this.n} accepted, green frame; rejected: red.`;
      if (index !== null) {
        const v = this.verdicts[index];
        const name = v.cls === null ? "" : (this.manifest.class_names?.[v.cls] ?? v.cls);
        const cls = v.cls === null ? "" : ` (class ${name})`;
        text = `sample ${index}${cls}: P(real) ${v.pReal.toFixed(4)}, ${v.accepted ? "accepted" : "rejected"}`;
      }
      this.verdictLine.textContent = text;
    }

    cellAt(event) {
      const x = Math.floor(event.offsetX / GRID_ZOOM) - PAD;
      const y = Math.floor(event.offsetY / GRID_ZOOM) - PAD;
      const col = Math.floor(x / (this.w + PAD));
      const row = Math.floor(y / (this.h + PAD));
      if (x < 0 || y < 0 || col >= this.cols || row >= ROWS) return null;
      return row * this.cols + col;
    }

    // Sliders for every continuous input of the first sample (its class and codes: pickers).
    buildSliders() {
      const panel = this.zPanel;
      panel.replaceChildren();
      const slider = (name, row, k, low, high) => {
        const input = element("input", { type: "range", min: low, max: high, step: 0.01 });
        input.dataset.input = name;
        input.value = row[k];
        const shown = element("span", { textContent: row[k].toFixed(2) });
        input.addEventListener("input", () => {
          row[k] = Number(input.value);
          shown.textContent = row[k].toFixed(2);
          this.redrawSoon();
        });
        panel.appendChild(element("label", {}, `${name}[${k}]`, input, shown));
      };
      this.inputs.z[0].forEach((_, k) => slider("z", this.inputs.z[0], k, -Z_RANGE, Z_RANGE));
      for (const [name, code] of Object.entries(this.manifest.codes ?? {})) {
        if (code.kind !== "categorical") this.inputs[name][0].forEach((_, k) => slider(name, this.inputs[name][0], k, code.low, code.high));
      }
    }

    // The walk from this seed's first sample to the next seed's, with the same steering, looped.
    async walk(frames = WALK_FRAMES) {
      const ends = [this.steer.seed, this.steer.seed + 1].map((seed) => S.sampleInputs(this.manifest, 1, seed, this.steering()));
      const inputs = S.interpolate(this.manifest, ...ends, frames);
      this.walked = { inputs, images: await this.generator.run(inputs), frames };
      clearInterval(this.walkTimer);
      let shown = 0;
      this.showFrame(0);
      this.walkTimer = setInterval(() => {
        shown = (shown + 1) % frames;
        this.showFrame(shown);
      }, WALK_MS);
    }

    showFrame(k) {
      const cell = this.walkCanvas.getContext("2d").createImageData(this.w, this.h);
      paint(cell.data, this.w, this.walked.images, k, 0, 0);
      this.walkCanvas.getContext("2d").putImageData(cell, 0, 0);
    }

    // For tests and the console.
    api(ready) {
      const self = this;
      return {
        ready,
        manifest: self.manifest,
        async run(z, extra = {}) {
          const image = await self.generator.run({ z, ...extra });
          return { image: Array.from(image.data), dims: image.dims.slice() };
        },
        // Refinement of given inputs from `seed`'s noise (`noise` 0: descent).
        async refine(z, extra = {}, steps = 1, stepSize = REFINE.stepSize, noise = REFINE.noise, seed = 1) {
          if (!self.refiner) throw new Error("this export has no refinement graph");
          return (await self.refiner.refine({ z, ...extra }, steps, seed, { stepSize, noise, bound: REFINE.bound })).z;
        },
        sampleInputs: (n, seed, steering) => S.sampleInputs(self.manifest, n, seed, steering),
        idle: () => self.queue,
        inputs: () => self.inputs, // what the grid was drawn from (the first sample: its sliders)
        verdicts: () => self.verdicts ?? null, // the judge's, per grid cell: {pReal, logit, cls, accepted}
        steering: () => ({ seed: self.steer.seed, ...self.steering() }),
        // The walk drawn last and, after showFrame(k), frame k on the walk canvas.
        walked: () => (self.walked ? { inputs: self.walked.inputs, frames: self.walked.frames } : null),
        stopWalk: () => clearInterval(self.walkTimer),
        showFrame: (k) => {
          clearInterval(self.walkTimer);
          self.showFrame(k);
        },
      };
    }
  }

  // A sampler of the export in `folder` inside `root`, its first grid drawn; -> its api.
  async function mount(root, folder, runtimeDir) {
    let sampler;
    const ready = (async () => {
      sampler = new Sampler(root, await openExport(folder, runtimeDir));
      await sampler.schedule(async () => {
        await sampler.resample();
        await sampler.walk(); // the walk canvas starts moving at once
      });
      if (sampler.errorLine.textContent) throw new Error(sampler.errorLine.textContent);
      return `onnxruntime-web ${sampler.ort.env.versions?.web ?? ""} (wasm, 1 thread)`;
    })();
    await ready;
    return { sampler, api: sampler.api(ready) };
  }

  window.ganzooSampler = { mount, openExport, runtime, Sampler };
})();
