// G's inputs as the deployment contract draws them (zoo/contract.py), in JavaScript: the
// counter-based random numbers (`Stream`), `draw`, truncation, a class by name, codes, and
// interpolation. The same seed and options give the numbers Python and sample.py give: the
// integer arithmetic is exact in both languages, float64 operations come in the same order,
// and every value is rounded to float32 where numpy rounds it.
"use strict";

(function () {
  const TWO32 = 4294967296;
  const TRUNCATION_STREAM = 0x7c; // contract.TRUNCATION_STREAM
  const REFINE_STREAM = 0x4ef; // contract.refine_rng
  const DRS_STREAM = 0xd25; // contract.drs_rng

  // C. Wellons' lowbias32, a bijection of 32-bit words (contract._lowbias32).
  function lowbias32(x) {
    x ^= x >>> 16;
    x = Math.imul(x, 0x7feb352d);
    x ^= x >>> 15;
    x = Math.imul(x, 0x846ca68b);
    x ^= x >>> 16;
    return x >>> 0;
  }

  // contract.Stream: the numbers keyed by non-negative integers (each below 2^53 here).
  class Stream {
    constructor(...key) {
      let a = 0x243f6a88;
      for (let k of key) {
        if (!Number.isSafeInteger(k) || k < 0) throw new Error(`a random stream is keyed by non-negative integers, got ${k}`);
        do {
          a = lowbias32((a ^ k % TWO32) >>> 0);
          k = Math.floor(k / TWO32);
        } while (k);
        a = lowbias32((a + 0x9e3779b9) >>> 0);
      }
      this.a = a;
      this.b = lowbias32((a ^ 0x85ebca6b) >>> 0);
      this.position = 0;
    }

    word() {
      const i = this.position++;
      return lowbias32((lowbias32((i ^ this.a) >>> 0) + this.b) >>> 0);
    }

    uniform01() {
      return (this.word() + 0.5) * 2 ** -32;
    }

    // `count` standard normals (float64): Box-Muller's cosine branch, two words each.
    normals(count) {
      const out = new Float64Array(count);
      for (let j = 0; j < count; j++) {
        const u1 = this.uniform01();
        const u2 = this.uniform01();
        out[j] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      }
      return out;
    }

    uniforms(count, low = 0, high = 1) {
      const out = new Float64Array(count);
      for (let j = 0; j < count; j++) out[j] = low + (high - low) * this.uniform01();
      return out;
    }

    integers(count, high) {
      const out = new Int32Array(count);
      for (let j = 0; j < count; j++) out[j] = Math.floor(this.word() * high * 2 ** -32);
      return out;
    }
  }

  // The discrete input a class picker steers: the label, else a categorical code (contract.classes_of).
  function classesOf(manifest) {
    if (manifest.num_classes) return { name: "label", size: manifest.num_classes };
    for (const [name, code] of Object.entries(manifest.codes ?? {})) {
      if (code.kind === "categorical") return { name, size: code.size };
    }
    return null;
  }

  // Rows of `width` float32 values from a flat array.
  function rows(flat, n, width) {
    return Array.from({ length: n }, (_, i) => Array.from(flat.slice(i * width, (i + 1) * width), Math.fround));
  }

  // contract.draw with cycling labels and categorical codes: z, then each code in order.
  function draw(manifest, n, stream) {
    const d = manifest.latent_dim;
    const inputs = { z: rows(stream.normals(n * d), n, d) };
    if (manifest.num_classes) inputs.label = Array.from({ length: n }, (_, i) => i % manifest.num_classes);
    for (const [name, code] of Object.entries(manifest.codes ?? {})) {
      if (code.kind === "categorical") inputs[name] = Array.from({ length: n }, (_, i) => i % code.size);
      else inputs[name] = rows(stream.uniforms(n * code.size, code.low, code.high), n, code.size);
    }
    return inputs;
  }

  // contract.truncate: components beyond +-bound drawn again, pass after pass, z first.
  function truncate(manifest, inputs, bound, seed) {
    const stream = new Stream(seed, TRUNCATION_STREAM);
    const redraws = [["z", (k) => stream.normals(k)]];
    for (const [name, code] of Object.entries(manifest.codes ?? {})) {
      if (code.kind !== "uniform") continue;
      if (Math.max(code.low, -bound) > Math.min(code.high, bound)) throw new Error(`truncation ${bound} leaves code ${name} no values`);
      redraws.push([name, (k) => stream.uniforms(k, code.low, code.high)]);
    }
    const out = { ...inputs };
    for (const [name, redraw] of redraws) {
      const width = inputs[name][0]?.length ?? 0;
      const flat = inputs[name].flat();
      let outside = flat.flatMap((v, i) => (Math.abs(v) > bound ? [i] : []));
      while (outside.length) {
        const fresh = redraw(outside.length);
        outside.forEach((i, j) => {
          flat[i] = Math.fround(fresh[j]);
        });
        outside = outside.filter((i) => Math.abs(flat[i]) > bound);
      }
      out[name] = rows(flat, inputs[name].length, width);
    }
    return out;
  }

  // A class by index or by name, any case (contract.class_index).
  function classIndex(manifest, label) {
    const discrete = classesOf(manifest);
    if (!discrete) throw new Error("this generator has no classes");
    const names = discrete.name === "label" ? (manifest.class_names ?? []) : [];
    const text = String(label).trim();
    const index = /^\d+$/.test(text) ? Number(text) : names.findIndex((n) => n.toLowerCase() === text.toLowerCase());
    if (!(index >= 0 && index < discrete.size)) throw new Error(`${label} is not a class`);
    return index;
  }

  // contract.sample_inputs: {label, codes: {name: value}, truncation} steer what is drawn.
  function sampleInputs(manifest, n, seed, { label = null, codes = {}, truncation = null } = {}) {
    let inputs = draw(manifest, n, new Stream(seed));
    if (truncation) inputs = truncate(manifest, inputs, truncation, seed);
    if (label !== null && label !== undefined) {
      const index = classIndex(manifest, label);
      inputs[classesOf(manifest).name] = new Array(n).fill(index);
    }
    for (const [name, value] of Object.entries(codes)) {
      const code = manifest.codes?.[name];
      if (!code) throw new Error(`this generator has no code ${name}`);
      if (code.kind === "categorical") inputs[name] = new Array(n).fill(Number(value));
      else {
        const values = [value].flat().map(Math.fround);
        const row = values.length === 1 ? new Array(code.size).fill(values[0]) : values;
        inputs[name] = Array.from({ length: n }, () => row.slice());
      }
    }
    return inputs;
  }

  // contract.slerp for one pair of rows.
  function slerp(t, a, b) {
    const dot = a.reduce((s, v, k) => s + v * b[k], 0);
    const norms = Math.hypot(...a) * Math.hypot(...b);
    const omega = Math.acos(Math.min(1, Math.max(-1, dot / Math.max(norms, 1e-300))));
    const sin = Math.sin(omega);
    if (!(sin > 1e-6)) return a.map((v, k) => (1 - t) * v + t * b[k]);
    return a.map((v, k) => (Math.sin((1 - t) * omega) * v + Math.sin(t * omega) * b[k]) / sin);
  }

  // contract.interpolate: `frames` inputs from one sample's (each input one row) to another's.
  function interpolate(manifest, start, end, frames) {
    const uniform = new Set(
      Object.entries(manifest.codes ?? {})
        .filter(([, code]) => code.kind === "uniform")
        .map(([name]) => name),
    );
    const out = {};
    for (const name of Object.keys(start)) {
      out[name] = Array.from({ length: frames }, (_, f) => {
        const t = f / (frames - 1);
        const [a, b] = [start[name][0], end[name][0]];
        if (name === "z") return slerp(t, a, b).map(Math.fround);
        if (uniform.has(name)) return a.map((v, k) => Math.fround((1 - t) * v + t * b[k]));
        return t < 0.5 ? a : b;
      });
    }
    return out;
  }

  // contract.langevin's noise and DRS's chances come from these streams.
  const refineStream = (seed) => new Stream(seed, REFINE_STREAM);
  const drsStream = (seed, round) => new Stream(seed, round, DRS_STREAM);

  window.ganzooSteering = {
    Stream,
    classesOf,
    classIndex,
    draw,
    truncate,
    sampleInputs,
    slerp,
    interpolate,
    refineStream,
    drsStream,
  };
})();
