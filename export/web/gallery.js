// The gallery of the zoo: a card per preset (its measured figures and a grid drawn by Python)
// and, on demand, a live sampler of its export (sampler.js). `ganzoo gallery` writes the
// cards' data into gallery-data.js, each export under presets/<name>/ and onnxruntime-web
// under runtime/.
"use strict";

(function () {
  const data = window.ganzooGallery;
  const mounted = new Map(); // name -> promise of the sampler's api

  function element(tag, properties = {}, ...children) {
    const made = Object.assign(document.createElement(tag), properties);
    made.append(...children);
    return made;
  }

  function figures(preset) {
    const rows = preset.figures.map(([name, value, floor]) =>
      element("tr", {}, element("th", { textContent: name }), element("td", { textContent: value }),
        element("td", { textContent: floor ?? "" }))); // prettier-ignore
    return element("table", { className: "figures" },
      element("tr", {}, element("th"), element("th", { textContent: "samples" }), element("th", { textContent: "real data" })),
      ...rows); // prettier-ignore
  }

  function card(preset) {
    const live = element("div", { className: "live" });
    const button = element("button", { textContent: "sample live" });
    button.dataset.open = preset.name;
    button.addEventListener("click", () => open(preset.name));
    const made = element("section", { className: "card", id: preset.name },
      element("h2", {}, preset.name),
      element("p", { className: "what" }, `${preset.description} — ${preset.variant} on ${preset.dataset}; ${preset.training}`),
      element("div", { className: "summary" },
        element("img", { src: preset.grid, alt: `samples of ${preset.name}`, className: "grid-picture" }),
        figures(preset)),
      element("p", { className: "command" }, element("code", { textContent: preset.command })),
      element("p", {}, button),
      live); // prettier-ignore
    made.live = live;
    return made;
  }

  const cards = new Map();

  function open(name) {
    if (!mounted.has(name)) {
      const preset = data.presets.find((p) => p.name === name);
      if (!preset) return Promise.reject(new Error(`no preset ${name} in this gallery`));
      const root = cards.get(name).live;
      root.textContent = "loading the generator…";
      const api = window.ganzooSampler.mount(root, preset.folder, data.runtime).then(({ api }) => api);
      api.catch((error) => {
        root.textContent = `error: ${error.message ?? error}`;
        root.className = "live error";
      });
      mounted.set(name, api);
    }
    return mounted.get(name);
  }

  const main = document.getElementById("cards");
  for (const preset of data.presets) {
    const made = card(preset);
    cards.set(preset.name, made);
    main.appendChild(made);
  }
  document.getElementById("built").textContent = data.built;

  // For tests and the console.
  window.ganzoo = { ready: Promise.resolve("ok"), presets: () => data.presets.map((p) => p.name), open };
})();
