// The comparison page (compare_models.py): several models' heads on one plane (the head atlas), a head beside its
// nearest heads in the other models on the same sentence, the layer means against relative depth, and the models'
// Tables 1 and 2 side by side. Heads are indexed 0..N-1 across models (data.heads), the first model's first.
"use strict";

(function () {
  const data = Report.data;
  const models = data.models;
  const nModels = models.length;
  const N = data.heads.length;
  const MODEL_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
  const modelColour = (model) => MODEL_COLOURS[model % MODEL_COLOURS.length];
  const BEHAVIOUR_SHAPES = {other: "circle", next: "triangle-right", prev: "triangle-left", broad: "square",
    cls: "diamond", sep: "triangle-up", punct: "triangle-down"};
  const behaviourNames = Object.fromEntries(data.behaviours);
  const behaviourShape = Object.fromEntries(data.behaviours.map(([label], index) => [label,
    BEHAVIOUR_SHAPES[label] || Report.MARKER_SHAPES[index % Report.MARKER_SHAPES.length]]));
  // the roles named by the models' strings ("[CLS]", or "[CLS] / <s>" for models of two tokenizers)
  const STATISTICS = [["cls", `attention to ${Report.ROLES.cls}`], ["sep", `attention to ${Report.ROLES.sep}`],
    ["punct", "attention to . or ,"], ["self", "attention to the same token"], ["next", "attention to the next token"],
    ["prev", "attention to the previous token"], ["entropy", "entropy (nats)"]];

  /** The index (0..N-1) of head `flat` of model `model`. */
  const starts = [];
  data.head_model.forEach((model, index) => {
    if (starts[model] === undefined) starts[model] = index;
  });
  const indexOf = (model, flat) => starts[model] + flat;
  const layerOf = (index) => Math.floor(data.head_flat[index] / models[data.head_model[index]].grid[1]);
  const depthOf = (index) => data.layers[data.head_model[index]].depth[layerOf(index)];
  const distance = (value) => `${Report.format(value, 3)} nats`;

  /** Listeners of the head chosen (the atlas, the same-sentence panels, the tables). */
  const listeners = [];
  let chosen = 0;
  function choose(index, scroll = false) {
    chosen = index;
    listeners.forEach((listener) => listener(index));
    if (scroll) document.getElementById("same-sentence").scrollIntoView();
  }

  /** A head's tooltip: its label and behaviour, where it sits, its nearest head in each other model. */
  function describe(index) {
    const model = models[data.head_model[index]];
    return [
      `${data.heads[index]}: ${behaviourNames[data.behaviour[index]] || data.behaviour[index]}`,
      `layer ${layerOf(index) + 1} of ${model.grid[0]} (relative depth ${Report.format(depthOf(index), 2)})`,
      ...data.nearest[index].map(([other, flat, value]) => `nearest in ${models[other].label}: ` +
        `${data.heads[indexOf(other, flat)]}, ${distance(value)}`),
      "click: show it beside its nearest heads",
    ];
  }

  // -------------------------------------------------------------------------- the head atlas

  function atlasSection() {
    const {section, toolbar, body} = Report.section("atlas", "Head atlas",
      "Every head of every model, placed by multidimensional scaling of the distances between their attention " +
      "distributions on the same sentences: heads that attend alike sit together, whichever model they belong " +
      "to. Colour: the model (or the layer's relative depth); shape: the head's behaviour. Circled: the chosen " +
      "head and its nearest head in each other model. Hover a head for its nearest heads; click it to see them " +
      "side by side below.", "atlas");
    const list = Report.html("ul", {class: "models"});
    section.insertBefore(list, toolbar);
    models.forEach((model, index) => {
      const item = Report.html("li", {}, list);
      Report.html("span", {class: "swatch", style: `background: ${modelColour(index)}`}, item);
      item.append(`${model.label}: ${model.grid[0]} layers × ${model.grid[1]} heads, ${model.map} maps of ` +
        model.source);
    });
    const svg = Report.newDrawing(body);
    let by = "model";
    const present = new Set(data.behaviour);
    const behaviourLegend = data.behaviours.filter(([label]) => present.has(label))
      .map(([label, name]) => ["#777", name, behaviourShape[label]]);
    const draw = () => {
      Report.clear(svg);
      const byModel = by === "model";
      const colour = (index) => (byModel ? modelColour(data.head_model[index]) : Report.viridis(depthOf(index)));
      const colourLegend = byModel ? models.map((model, index) => [modelColour(index), model.label])
        : [0.25, 0.5, 0.75, 1].map((depth) => [Report.viridis(depth), `relative depth ${depth}`]);
      const named = new Map([[chosen, data.heads[chosen]],
        ...data.nearest[chosen].map(([other, flat]) => [indexOf(other, flat), data.heads[indexOf(other, flat)]])]);
      Report.scatterPlot(svg, data.mds, {colour, marker: (index) => behaviourShape[data.behaviour[index]],
        legend: [...colourLegend, null, ...behaviourLegend], named, describe,
        onClick: (index) => choose(index, true)});
    };
    const controls = Report.html("div", {class: "controls"}, toolbar);
    Report.select(controls, "Colour by", [["model", "model"], ["depth", "layer (relative depth)"]], by, (value) => {
      by = value;
      draw();
    });
    listeners.push(draw);
  }

  // -------------------------------------------------------------------------- the same sentence

  function sameSentenceSection() {
    const examples = data.head_view.examples;
    const {section, toolbar, body} = Report.section("same-sentence", "Same sentence",
      "The chosen head (left) and its nearest head in each other model, each on that model's tokens of the same " +
      "sentence: a line joins each token on the left (the query) to each token on the right that it attends to; " +
      "opacity is the square root of the weight, weights below 0.002 are not drawn. Hover a token to see where " +
      "it attends.", () => `same-sentence-${data.heads[chosen].replace(/[^\w-]+/g, "_")}`);
    Report.note(section, data.head_view.note);
    if (examples.length < nModels) {
      Report.note(section, `The page holds ${examples.length} example(s) for ${nModels} models: models without ` +
        "one are not drawn.");
    }
    const controls = Report.html("div", {class: "controls"}, toolbar);
    const headSelect = Report.select(controls, "Head", data.heads.map((label, index) => [index, label]), 0,
      (value) => choose(Number(value)));
    const svg = Report.newDrawing(body);
    svg.classList.add("same-sentence");
    const bytes = new Map();
    const exampleBytes = (model) => {
      if (!bytes.has(model)) bytes.set(model, Report.decodeWeights(examples[model].weights));
      return bytes.get(model);
    };
    const draw = (index) => {
      headSelect.value = String(index);
      Report.clear(svg);
      svg.dataset.head = String(index);
      const shown = [[data.head_model[index], data.head_flat[index], null], ...data.nearest[index]];
      let [x, height] = [8, 0];
      for (const [model, flat, value] of shown) {
        if (!examples[model]) continue;
        const {tokens} = examples[model];
        const n = tokens.length;
        const weights = Report.headWeights(exampleBytes(model), flat * n * n, n);
        const head = indexOf(model, flat);
        const title = `${data.heads[head]}: ${behaviourNames[data.behaviour[head]] || data.behaviour[head]}\n` +
          (value === null ? `chosen, example ${examples[model].index}` : `nearest in ${models[model].label}, ` +
            distance(value));
        const group = Report.svg("g", {class: "compare-panel", "data-model": model, "data-head": head}, svg);
        const size = Report.attentionPanel(group, {tokens, weights, title, gap: 130}, x, 10);
        Report.svg("rect", {x, y: 2, width: size.width, height: 4, fill: modelColour(model)}, group);
        x += size.width + 36;
        height = Math.max(height, size.height);
      }
      Report.resize(svg, x - 20, height + 18);
    };
    listeners.push(draw);
  }

  // -------------------------------------------------------------------------- the layers side by side

  function layersSection() {
    const {body} = Report.section("layers", "Layers side by side",
      "Each layer's mean over its heads, against the layer's relative depth (layer / number of layers), one " +
      "line per model: models of different depths line up. Hover a point for its value; the numbers are in the " +
      "tables below the charts.", "layers");
    const svg = Report.newDrawing(body);
    const [chartWidth, chartHeight, left, top, gapX, gapY, perRow] = [220, 130, 44, 24, 26, 40, 4];
    STATISTICS.forEach(([key, title], chart) => {
      const [originX, originY] = [(chart % perRow) * (left + chartWidth + gapX), Math.floor(chart / perRow) *
        (top + chartHeight + gapY)];
      const values = data.layers.flatMap((layers) => layers[key]).filter((value) => value !== null);
      const yMax = key === "entropy" ? Math.max(...values, 1e-9) * 1.1 : Math.min(1, Math.max(...values, 0.05) * 1.1);
      const ticks = Report.ticks(yMax);
      const yTop = Math.max(yMax, ticks[ticks.length - 1]);
      const x = (depth) => originX + left + depth * chartWidth;
      const y = (value) => originY + top + chartHeight * (1 - value / yTop);
      const group = Report.svg("g", {class: "layer-chart", "data-statistic": key}, svg);
      Report.svg("text", {x: originX + left + chartWidth / 2, y: originY + 14, "text-anchor": "middle",
        "font-weight": "bold", text: title}, group);
      Report.svg("rect", {x: x(0), y: y(yTop), width: chartWidth, height: chartHeight, fill: "none", stroke: "#999"},
        group);
      for (const tick of ticks) {
        Report.svg("line", {x1: x(0), x2: x(1), y1: y(tick), y2: y(tick), stroke: "#eee"}, group);
        Report.svg("text", {x: x(0) - 5, y: y(tick), "text-anchor": "end", "dominant-baseline": "central",
          "font-size": 10, text: Report.tickLabel(tick)}, group);
      }
      for (const depth of [0, 0.25, 0.5, 0.75, 1]) {
        Report.svg("text", {x: x(depth), y: y(0) + 13, "text-anchor": "middle", "font-size": 10,
          text: String(depth)}, group);
      }
      data.layers.forEach((layers, model) => {
        const points = layers.depth.map((depth, layer) => [depth, layers[key][layer], layer])
          .filter(([, value]) => value !== null);
        Report.svg("polyline", {class: "model-line", "data-model": model, fill: "none", stroke: modelColour(model),
          "stroke-width": 1.8, points: points.map(([depth, value]) => `${x(depth)},${y(value)}`).join(" ")}, group);
        for (const [depth, value, layer] of points) {
          const point = Report.svg("circle", {cx: x(depth), cy: y(value), r: 3, fill: modelColour(model)}, group);
          Report.hoverTip(point, () => [`${layers.label}, layer ${layer + 1} of ${layers.depth.length}`,
            `relative depth ${Report.format(depth, 2)}`, `${title}: ${Report.format(value, 3)}`]);
        }
      });
    });
    const slot = STATISTICS.length; // the legend takes the next chart's place
    const [legendX, legendY] = [(slot % perRow) * (left + chartWidth + gapX) + left,
      Math.floor(slot / perRow) * (top + chartHeight + gapY) + top + 10];
    models.forEach((model, index) => {
      const rowY = legendY + 20 * index;
      Report.svg("line", {x1: legendX, x2: legendX + 22, y1: rowY, y2: rowY, stroke: modelColour(index),
        "stroke-width": 2}, svg);
      Report.svg("text", {x: legendX + 28, y: rowY, "dominant-baseline": "central", "font-size": 12,
        text: model.label}, svg);
    });
    const noteY = legendY + 20 * nModels + 6;
    ["x: the layer's relative depth", "y: the layer's mean over its heads"].forEach((line, index) => {
      Report.svg("text", {x: legendX, y: noteY + 16 * index, "font-size": 11, fill: "#555", text: line}, svg);
    });
    const rows = Math.floor(slot / perRow) + 1;
    Report.resize(svg, perRow * (left + chartWidth + gapX),
      Math.max(rows * (top + chartHeight + gapY), noteY + 24));

    const details = Report.html("details", {class: "layer-numbers"}, body);
    Report.html("summary", {text: "The numbers"}, details);
    const tables = Report.html("div", {class: "side-by-side"}, details);
    data.layers.forEach((layers) => {
      const holder = Report.html("div", {}, tables);
      Report.html("h3", {text: layers.label}, holder);
      const rows = layers.depth.map((depth, layer) => ({layer, depth}));
      Report.table(holder, [
        {key: "layer", label: "layer", numeric: true, value: (row) => row.layer, text: (row) => String(row.layer + 1)},
        {key: "depth", label: "depth", numeric: true, value: (row) => row.depth,
          text: (row) => Report.format(row.depth, 2)},
        ...STATISTICS.map(([key]) => ({key, label: key, numeric: true, value: (row) => layers[key][row.layer],
          text: (row) => Report.format(layers[key][row.layer], key === "entropy" ? 2 : 3)})),
      ], rows);
    });
  }

  // -------------------------------------------------------------------------- the tables side by side

  /** The index of a model's head from its 1-based "layer-head" label, or null. */
  function headIndex(model, label) {
    const found = /^(\d+)-(\d+)$/.exec(label || "");
    if (!found) return null;
    const [layer, head] = [Number(found[1]) - 1, Number(found[2]) - 1];
    const [nLayers, nHeads] = models[model].grid;
    return layer < nLayers && head < nHeads ? indexOf(model, layer * nHeads + head) : null;
  }

  function tableSection(table, id, title, key, keyLabel, explanation) {
    if (!table) return;
    const {section, body} = Report.section(id, title, explanation, id,
      () => Report.tableDrawing(section.querySelector("table")));
    const columns = [
      {key, label: keyLabel, value: (row) => row[key], text: (row) => String(row[key])},
      {key: "count", label: "count", numeric: true, value: (row) => row.count, text: (row) => String(row.count)},
    ];
    table.columns.forEach((label, model) => {
      const cell = (row) => row.cells[model] || [null, null];
      columns.push({key: `head-${model}`, label: `${label} head`, head: model,
        value: (row) => headIndex(model, cell(row)[0]), text: (row) => cell(row)[0] || "-"});
      columns.push({key: `accuracy-${model}`, label: `${label} accuracy (%)`, numeric: true,
        value: (row) => cell(row)[1], text: (row) => Report.percent(cell(row)[1])});
    });
    const rows = [...table.rows];
    const {table: element} = Report.table(body, columns, rows, {sortable: true});
    const modelColumn = columns.map((column) => (column.head === undefined ? null : column.head));
    for (const tr of element.tBodies[0].rows) {
      [...tr.cells].forEach((td, place) => {
        const model = modelColumn[place];
        const index = model === null || model >= nModels ? null : headIndex(model, td.textContent);
        if (index === null) return;
        td.classList.add("head-cell");
        td.dataset.head = String(index);
        td.title = `show ${data.heads[index]} in the atlas and beside its nearest heads`;
        td.addEventListener("click", () => choose(index, true));
      });
    }
    listeners.push((index) => {
      element.querySelectorAll("td.head-cell").forEach((td) => td.classList.toggle("chosen",
        td.dataset.head === String(index)));
    });
  }

  const grids = models.map((model) => `${model.label} ${model.grid[0]}×${model.grid[1]}`).join(", ");
  Report.frame(`${data.source}: ${nModels} models (${grids}); heads are 1-based label:layer-head`);
  Report.start(() => {
    atlasSection();
    sameSentenceSection();
    layersSection();
    tableSection(data.table1, "table-1", "Table 1 side by side", "relation", "relation",
      "Each relation's best head in each model and its accuracy. Click a column's name to sort by it, a head to " +
      "show it in the atlas and beside its nearest heads.");
    tableSection(data.table2, "table-2", "Table 2 side by side", "type", "mention type",
      "Each mention type's best coreference head in each model and its accuracy. Click a column's name to sort by " +
      "it, a head to show it in the atlas and beside its nearest heads.");
    choose(0);
  });
})();
