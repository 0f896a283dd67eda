// The export page: one live sampler (sampler.js) of the export folder this page lives in
// (<export>/web/), reading ../manifest.json and its networks, with onnxruntime-web from this
// folder; it needs no network beyond its server.
"use strict";

(function () {
  const status = document.getElementById("status");
  const mounted = window.ganzooSampler.mount(document.getElementById("sampler"), "..", ".");
  const ready = mounted.then(async ({ api }) => {
    const runtime = await api.ready;
    const m = api.manifest;
    const [h, w, c] = m.image_shape;
    status.textContent = `${m.variant}: latent_dim ${m.latent_dim}, images ${h}×${w}×${c}; ${runtime}`;
    return "ok";
  });
  ready.catch((error) => {
    status.textContent = `error: ${error.message ?? error}`;
    status.className = "error";
  });
  // For tests and the console: the sampler's api once it is ready.
  window.ganzoo = {
    ready,
    sampler: () => mounted.then(({ api }) => api),
  };
})();
