// Attention drawn as lines between tokens (the head view, like analysis/figures.py plot_attention_lines) and as
// thumbnails of every head (the model view). Maps arrive encoded: one byte a weight, round(STEPS * sqrt(w)).
// The constants they share with the figures come in the page's data ("drawing", analysis/report/page.py).
"use strict";

Report.WEIGHT_STEPS = Report.data.drawing.weight_steps; // a weight w is stored as round(STEPS * sqrt(w))
Report.MIN_WEIGHT = Report.data.drawing.min_weight; // lighter lines are not drawn, as in the figures
Report.SPECIAL_TOKENS = new Set(Report.data.drawing.special_tokens);
Report.LINE_COLOUR = "#1f77b4";
Report.HIGHLIGHT_COLOUR = "#d62728";
Report.KEY_HIGHLIGHT_COLOUR = "#2ca02c";
Report.HOVER_COLOUR = "#ff7f0e";

/** The bytes of base64-encoded maps, one a weight. */
Report.decodeWeights = function (base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
};

/** One head's weights, `n * n` (row = query), from the bytes of maps whose head starts at weight `offset`. */
Report.headWeights = function (bytes, offset, n) {
  const weights = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) {
    const root = bytes[offset + i] / Report.WEIGHT_STEPS;
    weights[i] = root * root;
  }
  return weights;
};

/** The positions of `tokens` to show: all, or all but [CLS] and [SEP]. */
Report.shownPositions = function (tokens, hideSpecial) {
  const positions = [];
  tokens.forEach((token, position) => {
    if (!hideSpecial || !Report.SPECIAL_TOKENS.has(token)) positions.push(position);
  });
  return positions;
};

/**
 * The weights `n * n` restricted to the positions `shown` (rows and columns, in order): `m * m`. With
 * `renormalise`, each row is divided by its sum over the shown keys (a row with nothing left stays 0).
 */
Report.visibleWeights = function (weights, n, shown, renormalise) {
  const m = shown.length;
  const visible = new Float64Array(m * m);
  for (let row = 0; row < m; row++) {
    let sum = 0;
    for (let column = 0; column < m; column++) {
      const weight = weights[shown[row] * n + shown[column]];
      visible[row * m + column] = weight;
      sum += weight;
    }
    if (renormalise && sum > 0) {
      for (let column = 0; column < m; column++) visible[row * m + column] /= sum;
    }
  }
  return visible;
};

/** The `count` largest weights of a row (or column) as "token weight" strings. */
Report.strongest = function (tokens, weights, m, index, byColumn, count = 6) {
  const entries = [];
  for (let other = 0; other < m; other++) {
    const weight = byColumn ? weights[other * m + index] : weights[index * m + other];
    if (weight >= Report.MIN_WEIGHT) entries.push([weight, tokens[other]]);
  }
  entries.sort((a, b) => b[0] - a[0]);
  return entries.slice(0, count).map(([weight, token]) => `${token}  ${weight.toFixed(3)}`);
};

/** A token for a label: at most 18 characters. */
Report.shortToken = function (token) {
  return token.length > 18 ? `${token.slice(0, 17)}…` : token;
};

/** The opacity step (0 to WEIGHT_STEPS) of a line of weight `w`: round(STEPS sqrt(w)), as the maps are stored. */
Report.opacityStep = function (weight) {
  return Math.round(Report.WEIGHT_STEPS * Math.sqrt(weight));
};

/**
 * Markup of the lines of rows `rows` (or, `byColumn`, of columns): one line per weight >= MIN_WEIGHT, of opacity
 * sqrt(w) and width 0.2 + 2.5 w. Lines of one opacity step share a <path> (a "M x1 y1 L x2 y2" segment each):
 * WEIGHT_STEPS elements at most instead of one per line, which keeps a 128-token head's redraw fast.
 */
Report.lineMarkup = function (weights, m, rows, geometry, byColumn = false) {
  const segments = Array.from({length: Report.WEIGHT_STEPS + 1}, () => []);
  for (const row of rows) {
    for (let other = 0; other < m; other++) {
      const [query, key] = byColumn ? [other, row] : [row, other];
      const weight = weights[query * m + key];
      if (weight >= Report.MIN_WEIGHT) {
        const segment = `M${geometry.x1} ${geometry.y[query]}L${geometry.x2} ${geometry.y[key]}`;
        segments[Report.opacityStep(weight)].push(segment);
      }
    }
  }
  let markup = "";
  segments.forEach((lines, step) => {
    if (!lines.length) return;
    const opacity = step / Report.WEIGHT_STEPS;
    markup += `<path d="${lines.join("")}" stroke-opacity="${opacity.toFixed(4)}" ` +
      `stroke-width="${(0.2 + 2.5 * opacity * opacity).toFixed(3)}"/>`;
  });
  return markup;
};

/**
 * Draw one head's attention in `group` (an SVG <g>) at (x, y): query tokens on the left, key tokens on the
 * right, a line from each query to each key it attends to. `spec`: tokens (labels, m), weights (m * m, row =
 * query), title (lines separated by "\n"), highlight (query indices drawn in red with their lines), keyHighlight
 * (key indices in bold green). Hovering a token shows where it attends (left) or from where it is attended
 * (right). Returns the panel's {width, height}.
 */
Report.attentionPanel = function (group, spec, x = 0, y = 0) {
  const {tokens, weights} = spec;
  const highlight = new Set(spec.highlight || []);
  const keyHighlight = new Set(spec.keyHighlight || []);
  const m = tokens.length;
  const labels = tokens.map(Report.shortToken);
  const textWidth = Math.max(40, 7 * Math.max(...labels.map((label) => label.length), 1) + 6);
  const rowHeight = 16;
  const titleLines = spec.title ? spec.title.split("\n") : [];
  const top = y + 18 * titleLines.length + (titleLines.length ? 8 : 0);
  const gap = spec.gap || 170;
  const geometry = {
    x1: x + textWidth + 6, x2: x + textWidth + 6 + gap, // where lines start and end
    y: tokens.map((_, index) => String(Math.round(10 * (top + index * rowHeight + rowHeight / 2)) / 10)), // rows
  };
  const panel = Report.svg("g", {class: "attention-panel"}, group);
  titleLines.forEach((line, index) => Report.svg("text", {x, y: y + 14 + 18 * index,
    "font-weight": index === 0 ? "bold" : "normal", text: line}, panel));
  // Ordinary lines, then the highlighted queries' lines on top, then (while hovering) one token's lines.
  const lines = Report.svg("g", {class: "lines", stroke: Report.LINE_COLOUR, fill: "none"}, panel);
  const marked = Report.svg("g", {class: "lines-highlight", stroke: Report.HIGHLIGHT_COLOUR, fill: "none"}, panel);
  const rows = Array.from({length: m}, (_, row) => row);
  lines.innerHTML = Report.lineMarkup(weights, m, rows.filter((row) => !highlight.has(row)), geometry);
  marked.innerHTML = Report.lineMarkup(weights, m, rows.filter((row) => highlight.has(row)), geometry);
  const hover = Report.svg("g", {class: "hover-only", stroke: Report.HOVER_COLOUR, fill: "none"}, panel);

  const hoverToken = (index, byColumn) => (event) => {
    for (const layer of [lines, marked]) {
      layer.setAttribute("data-opacity-before-hover", layer.getAttribute("opacity") || "1");
      layer.setAttribute("opacity", "0.12");
    }
    hover.innerHTML = Report.lineMarkup(weights, m, [index], geometry, byColumn);
    const heading = byColumn ? `${tokens[index]} is attended from` : `${tokens[index]} attends to`;
    Report.showTooltip(event, [heading, ...Report.strongest(tokens, weights, m, index, byColumn)]);
  };
  const leave = () => {
    for (const layer of [lines, marked]) {
      layer.setAttribute("opacity", layer.getAttribute("data-opacity-before-hover") || "1");
      layer.removeAttribute("data-opacity-before-hover");
    }
    hover.replaceChildren();
    Report.hideTooltip();
  };
  for (const side of ["query", "key"]) {
    const isQuery = side === "query";
    labels.forEach((label, index) => {
      const coloured = isQuery ? highlight.has(index) : keyHighlight.has(index);
      const colour = isQuery ? Report.HIGHLIGHT_COLOUR : Report.KEY_HIGHLIGHT_COLOUR;
      const text = Report.svg("text", {
        x: isQuery ? x + textWidth : geometry.x2 + 6, y: geometry.y[index], "dominant-baseline": "central",
        "text-anchor": isQuery ? "end" : "start", class: `token ${side}`, "data-index": index, text: label,
        fill: coloured ? colour : "#222", "font-weight": coloured ? "bold" : "normal",
      }, panel);
      text.addEventListener("mouseenter", hoverToken(index, !isQuery));
      text.addEventListener("mouseleave", leave);
    });
  }
  const titleWidth = Math.max(0, ...titleLines.map((line) => 7 * line.length));
  return {width: Math.max(2 * textWidth + 12 + gap, titleWidth), height: top - y + m * rowHeight + 4};
};

// ---------------------------------------------------------------------------- the head view

/**
 * The head view of the general page: layer, head and example selectors, a switch hiding [CLS]/[SEP] (rows
 * renormalised over the other tokens), and one head's attention drawn as lines. `examples` are the page's head
 * view examples ({index, tokens, weights}); `grid` is [layers, heads]; `describe(flat)` names a head's behaviour.
 * Listeners added with `onChange` run after every drawing.
 */
Report.HeadView = class {
  constructor(body, toolbar, examples, grid, describe) {
    this.examples = examples;
    this.grid = grid;
    this.describe = describe;
    this.state = {example: 0, layer: 0, head: 0, hideSpecial: false};
    this.bytes = new Map();
    this.listeners = [];
    const controls = Report.html("div", {class: "controls"}, toolbar);
    if (examples.length > 1) {
      const choices = examples.map((example, i) => [i, `example ${example.index} (${example.tokens.length} tokens)`]);
      Report.select(controls, "Example", choices, 0, (value) => this.update({example: Number(value)}));
    }
    const range = (count) => Array.from({length: count}, (_, i) => [i, String(i + 1)]);
    this.layerSelect = Report.select(controls, "Layer", range(grid[0]), 0,
      (value) => this.update({layer: Number(value)}));
    this.headSelect = Report.select(controls, "Head", range(grid[1]), 0, (value) => this.update({head: Number(value)}));
    this.hideBox = Report.checkbox(controls, "hide-special", "hide [CLS]/[SEP] (renormalise rows)",
      (checked) => this.update({hideSpecial: checked}));
    this.svg = Report.newDrawing(body);
    this.svg.classList.add("head-view");
  }

  /** The flat index of the head shown. */
  get flat() {
    return this.state.layer * this.grid[1] + this.state.head;
  }

  /** The 1-based label of the head shown. */
  get label() {
    return Report.headLabel(this.flat, this.grid[1]);
  }

  /** The example shown. */
  get example() {
    return this.examples[this.state.example];
  }

  /** The decoded bytes of an example's maps (decoded once, when first shown). */
  exampleBytes(index) {
    if (!this.bytes.has(index)) this.bytes.set(index, Report.decodeWeights(this.examples[index].weights));
    return this.bytes.get(index);
  }

  /** The weights of head `flat` on the example shown, on the tokens shown: {tokens, weights, shown}. */
  visible(flat) {
    const tokens = this.example.tokens;
    const n = tokens.length;
    const weights = Report.headWeights(this.exampleBytes(this.state.example), flat * n * n, n);
    const shown = Report.shownPositions(tokens, this.state.hideSpecial);
    return {tokens: shown.map((position) => tokens[position]), shown,
      weights: Report.visibleWeights(weights, n, shown, this.state.hideSpecial)};
  }

  /** Show the head (layer, head), 0-based. */
  select(layer, head) {
    this.update({layer, head});
  }

  /** Change some of {example, layer, head, hideSpecial} and redraw. */
  update(change) {
    Object.assign(this.state, change);
    this.layerSelect.value = String(this.state.layer);
    this.headSelect.value = String(this.state.head);
    this.hideBox.checked = this.state.hideSpecial;
    this.draw();
  }

  /** Draw the head shown, then tell the listeners. */
  draw() {
    const {tokens, weights} = this.visible(this.flat);
    Report.clear(this.svg);
    const title = `Head ${this.label}: ${this.describe(this.flat)}\nexample ${this.example.index}` +
      (this.state.hideSpecial ? ", [CLS]/[SEP] hidden, rows renormalised" : "");
    const size = Report.attentionPanel(this.svg, {tokens, weights, title, gap: 260}, 8, 4);
    Report.resize(this.svg, size.width + 16, size.height + 12);
    this.listeners.forEach((listener) => listener(this));
  }

  /** Call `listener(headView)` after every drawing. */
  onChange(listener) {
    this.listeners.push(listener);
  }
};

// ---------------------------------------------------------------------------- the model view

/**
 * Every head of the head view's example at once: a thumbnail of each head's attention matrix (row = query,
 * column = key, darker = more attention: opacity sqrt(w), as the lines; a thumbnail pixel shows the largest weight
 * it covers), layers down and heads across. Clicking one shows it in the head view. The thumbnails are painted on
 * one canvas, shown (and exported) as one image, again when the example or the hidden tokens change.
 */
Report.ModelView = class {
  constructor(body, headView, onOpen) {
    this.headView = headView;
    this.onOpen = onOpen;
    this.svg = Report.newDrawing(body);
    this.svg.classList.add("model-view");
    this.drawnFor = null;
    [this.cell, this.gap, this.left, this.top] = [64, 8, 58, 26];
    headView.onChange(() => this.draw());
  }

  /** The top-left corner of head (layer, head)'s thumbnail. */
  corner(layer, head) {
    return [this.left + head * (this.cell + this.gap), this.top + layer * (this.cell + this.gap)];
  }

  /** Paint one head's matrix `m * m` into `image` (RGBA, `width` pixels wide) at (x, y): each of the cell's
   * pixels shows the largest weight of the tokens it covers (a short example's tokens cover several pixels). */
  paint(image, width, weights, m, x, y) {
    const span = (pixel) => {
      const start = Math.floor((pixel * m) / this.cell);
      return [start, Math.max(start + 1, Math.floor(((pixel + 1) * m) / this.cell))];
    };
    for (let pixelY = 0; pixelY < this.cell; pixelY++) {
      const [rowStart, rowEnd] = span(pixelY);
      for (let pixelX = 0; pixelX < this.cell; pixelX++) {
        const [columnStart, columnEnd] = span(pixelX);
        let largest = 0;
        for (let query = rowStart; query < rowEnd; query++) {
          for (let key = columnStart; key < columnEnd; key++) largest = Math.max(largest, weights[query * m + key]);
        }
        const offset = 4 * ((y + pixelY) * width + x + pixelX);
        image.data.set([31, 119, 180, Math.round(255 * Math.sqrt(largest))], offset);
      }
    }
  }

  /** Outline the head view's head, painting the thumbnails first when its example or hidden tokens changed. */
  draw() {
    const view = this.headView;
    const key = `${view.state.example}/${view.state.hideSpecial}`;
    if (this.drawnFor !== key) this.drawThumbnails();
    this.drawnFor = key;
    const [x, y] = this.corner(view.state.layer, view.state.head);
    Object.entries({x: x - 3, y: y - 3, width: this.cell + 6, height: this.cell + 6})
      .forEach(([name, value]) => this.outline.setAttribute(name, value));
    this.svg.dataset.head = String(view.flat);
  }

  /** Paint every head's thumbnail on one canvas, shown as one image, with the labels and frames around them. */
  drawThumbnails() {
    const view = this.headView;
    const [nLayers, nHeads] = view.grid;
    const [width, height] = this.corner(nLayers, nHeads);
    Report.clear(this.svg);
    const canvas = Report.html("canvas", {width, height});
    const context = canvas.getContext("2d");
    const image = context.createImageData(width, height);
    for (let layer = 0; layer < nLayers; layer++) {
      for (let head = 0; head < nHeads; head++) {
        const {weights, tokens} = view.visible(layer * nHeads + head);
        this.paint(image, width, weights, tokens.length, ...this.corner(layer, head));
      }
    }
    context.putImageData(image, 0, 0);
    Report.svg("image", {x: 0, y: 0, width, height, href: canvas.toDataURL("image/png")}, this.svg);
    for (let head = 0; head < nHeads; head++) {
      const [x] = this.corner(0, head);
      Report.svg("text", {x: x + this.cell / 2, y: 16, "text-anchor": "middle", text: `head ${head + 1}`}, this.svg);
    }
    for (let layer = 0; layer < nLayers; layer++) {
      const [, y] = this.corner(layer, 0);
      Report.svg("text", {x: this.left - 8, y: y + this.cell / 2, "text-anchor": "end", "dominant-baseline": "central",
        text: `layer ${layer + 1}`}, this.svg);
      for (let head = 0; head < nHeads; head++) this.thumbnailFrame(layer, head);
    }
    this.outline = Report.svg("rect", {class: "outline", fill: "none", stroke: Report.HIGHLIGHT_COLOUR,
      "stroke-width": 2}, this.svg);
    Report.resize(this.svg, width, height);
  }

  /** The frame of one thumbnail, which takes the pointer: hover names the head, a click opens it. */
  thumbnailFrame(layer, head) {
    const [nHeads, [x, y]] = [this.headView.grid[1], this.corner(layer, head)];
    const flat = layer * nHeads + head;
    const frame = Report.svg("rect", {x: x - 0.5, y: y - 0.5, width: this.cell + 1, height: this.cell + 1,
      fill: "transparent", stroke: "#ccc", class: "thumbnail", "data-head": flat}, this.svg);
    frame.addEventListener("click", () => this.onOpen(layer, head));
    Report.hoverTip(frame, () => [`Head ${Report.headLabel(flat, nHeads)}`, this.headView.describe(flat),
      "click: show it in the head view"]);
  }
};
