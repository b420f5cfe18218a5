// Attention drawn as lines between tokens (the head view, like analysis/figures.py plot_attention_lines) and as
// thumbnails of every head (the model view). Maps arrive encoded: one byte a weight, round(STEPS * sqrt(w)).
// The constants they share with the figures come in the page's data ("drawing", analysis/report/page.py).
"use strict";

Report.WEIGHT_STEPS = Report.data.drawing.weight_steps; // a weight w is stored as round(STEPS * sqrt(w))
Report.MIN_WEIGHT = Report.data.drawing.min_weight; // lighter lines are not drawn, as in the figures
Report.SPECIAL_TOKENS = new Set(Report.data.drawing.special_tokens || [Report.ROLES.cls, Report.ROLES.sep]);
Report.SPECIAL_TEXT = `${Report.ROLES.cls}/${Report.ROLES.sep}`; // "[CLS]/[SEP]", "<s>/</s>"
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

/** The positions of `tokens` to show: all, or all but the special tokens (Report.SPECIAL_TOKENS: [CLS], [SEP]). */
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
 * (key indices in bold green), rows (the query indices whose lines are drawn, in order; by default all: every
 * token is still written on both sides, so the lines drawn reach any key). Hovering a token shows where it
 * attends (left) or from where it is attended (right), whether its lines are drawn or not. Returns the panel's
 * {width, height}.
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
  const rows = spec.rows || Array.from({length: m}, (_, row) => row);
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

/** Examples longer than this many tokens draw the lines of a range of queries only, at first the first WINDOW:
 * one query's lines for every key is up to n lines a row, n * n in all. The general page keeps at most 128 tokens
 * (analysis/report/page.py MAX_TOKENS), so its examples always draw whole. */
Report.HEAD_VIEW_WINDOW = 128;

/**
 * The head view: layer, head and example selectors, a switch hiding the special tokens ([CLS]/[SEP], <s>/</s>; rows
 * renormalised over the other tokens), and one head's attention drawn as lines. `examples` are the page's head view examples ({index, tokens,
 * weights}); `grid` is [layers, heads]; `describe(flat)`, when given, names a head's behaviour. An example of more
 * than HEAD_VIEW_WINDOW tokens gets a range of queries (1-based token positions, "from" and "to", and buttons
 * moving the range by its width): only their lines are drawn, in a drawing that scrolls. Listeners added with
 * `onChange` run after every drawing.
 */
Report.HeadView = class {
  constructor(body, toolbar, examples, grid, describe = null) {
    this.examples = examples;
    this.grid = grid;
    this.describe = describe || (() => "");
    this.state = {example: 0, layer: 0, head: 0, hideSpecial: false, range: Report.HeadView.firstRange(examples[0])};
    this.bytes = new Map();
    this.listeners = [];
    const controls = Report.html("div", {class: "controls"}, toolbar);
    if (examples.length > 1) {
      const choices = examples.map((example, i) => [i, `example ${example.index} (${example.tokens.length} tokens)`]);
      Report.select(controls, "Example", choices, 0, (value) => this.update({example: Number(value),
        range: Report.HeadView.firstRange(examples[Number(value)])}));
    }
    const range = (count) => Array.from({length: count}, (_, i) => [i, String(i + 1)]);
    this.layerSelect = Report.select(controls, "Layer", range(grid[0]), 0,
      (value) => this.update({layer: Number(value)}));
    this.headSelect = Report.select(controls, "Head", range(grid[1]), 0, (value) => this.update({head: Number(value)}));
    this.hideBox = Report.checkbox(controls, "hide-special", `hide ${Report.SPECIAL_TEXT} (renormalise rows)`,
      (checked) => this.update({hideSpecial: checked}));
    this.rangeControls(controls);
    this.scroller = Report.html("div", {class: "head-view-drawing"}, body);
    this.svg = Report.newDrawing(this.scroller);
    this.svg.classList.add("head-view");
  }

  /** The range of queries an example shows first, 0-based and inclusive: all, or the first HEAD_VIEW_WINDOW. */
  static firstRange(example) {
    return [0, Math.min(example.tokens.length, Report.HEAD_VIEW_WINDOW) - 1];
  }

  /** The range control (shown for long examples only): "Queries from [a] to [b]", ◀ ▶, and what is drawn. */
  rangeControls(controls) {
    this.rangeControl = Report.html("span", {class: "control query-range"}, controls);
    this.rangeControl.append("Queries from ");
    const number = (name) => Report.html("input", {type: "number", name, min: 1, step: 1}, this.rangeControl);
    this.fromInput = number("query-from");
    this.rangeControl.append(" to ");
    this.toInput = number("query-to");
    const button = (name, text, title) => Report.html("button", {type: "button", class: `range-step ${name}`, text,
      title}, this.rangeControl);
    this.previousButton = button("range-previous", "◀", "the previous queries (as many)");
    this.nextButton = button("range-next", "▶", "the next queries (as many)");
    this.rangeNote = Report.html("span", {class: "range-note"}, this.rangeControl);
    this.fromInput.addEventListener("change", () => this.setRange(this.fromInput, true));
    this.toInput.addEventListener("change", () => this.setRange(this.toInput, false));
    this.previousButton.addEventListener("click", () => this.stepRange(-1));
    this.nextButton.addEventListener("click", () => this.stepRange(1));
  }

  /** A range bound typed in (1-based; `isFrom` for "from"): kept within the example; the other bound follows
   * when the range would be empty (to a range of HEAD_VIEW_WINDOW queries). */
  setRange(input, isFrom) {
    const n = this.example.tokens.length;
    let [from, to] = this.state.range;
    const typed = Math.round(Number(input.value));
    if (input.value === "" || !Number.isFinite(typed)) {
      this.syncControls(); // back to the range shown
      return;
    }
    const position = Math.min(Math.max(typed - 1, 0), n - 1);
    if (isFrom) [from, to] = [position, position > to ? Math.min(n - 1, position + Report.HEAD_VIEW_WINDOW - 1) : to];
    else [from, to] = [position < from ? Math.max(0, position - Report.HEAD_VIEW_WINDOW + 1) : from, position];
    this.showRange(from, to);
  }

  /** Move the range by its width, `direction` -1 (back) or 1 (on), within the example. */
  stepRange(direction) {
    const n = this.example.tokens.length;
    const [from, to] = this.state.range;
    const width = to - from + 1;
    const start = Math.min(Math.max(from + direction * width, 0), n - width);
    this.showRange(start, start + width - 1);
  }

  /** Draw the queries from..to (0-based) and scroll the drawing to the first of them (where the first token is
   * when scrolled to the top). */
  showRange(from, to) {
    this.update({range: [from, to]});
    const labels = this.svg.querySelectorAll("text.token.query");
    const first = labels[this.drawnRows.length ? this.drawnRows[0] : 0];
    if (first) this.scroller.scrollTop = Number(first.getAttribute("y")) - Number(labels[0].getAttribute("y"));
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

  /** Whether the example shown draws a range of queries only (it has more than HEAD_VIEW_WINDOW tokens). */
  get long() {
    return this.example.tokens.length > Report.HEAD_VIEW_WINDOW;
  }

  /** The range of queries drawn in words, 1-based ("lines from queries 1–128 of 600"); empty for short examples. */
  get rangeText() {
    const [from, to] = this.state.range;
    return this.long ? `lines from queries ${from + 1}–${to + 1} of ${this.example.tokens.length}` : "";
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

  /** Change some of {example, layer, head, hideSpecial, range} and redraw. */
  update(change) {
    Object.assign(this.state, change);
    this.syncControls();
    this.draw();
  }

  /** Set the controls to the state shown; the range control shows for long examples only. */
  syncControls() {
    this.layerSelect.value = String(this.state.layer);
    this.headSelect.value = String(this.state.head);
    this.hideBox.checked = this.state.hideSpecial;
    const n = this.example.tokens.length;
    const [from, to] = this.state.range;
    this.rangeControl.hidden = !this.long;
    this.scroller.classList.toggle("scrolling", this.long);
    for (const input of [this.fromInput, this.toInput]) input.max = String(n);
    [this.fromInput.value, this.toInput.value] = [String(from + 1), String(to + 1)];
    this.previousButton.disabled = from === 0;
    this.nextButton.disabled = to === n - 1;
    this.rangeNote.textContent = this.rangeText;
  }

  /** Draw the head shown, then tell the listeners. */
  draw() {
    const {tokens, weights, shown} = this.visible(this.flat);
    const [from, to] = this.state.range;
    // the rows of the queries in the range (`shown` is in order, so they follow each other)
    this.drawnRows = shown.map((_, row) => row).filter((row) => shown[row] >= from && shown[row] <= to);
    Report.clear(this.svg);
    const behaviour = this.describe(this.flat);
    const title = `Head ${this.label}${behaviour ? `: ${behaviour}` : ""}\nexample ${this.example.index}` +
      (this.long ? `, ${this.rangeText}` : "") +
      (this.state.hideSpecial ? `, ${Report.SPECIAL_TEXT} hidden, rows renormalised` : "");
    const size = Report.attentionPanel(this.svg, {tokens, weights, title, gap: 260, rows: this.drawnRows}, 8, 4);
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

  /**
   * Paint head `flat` of the head view's example, on its tokens shown, into `image` (RGBA, `width` pixels wide) at
   * (x, y): each of the cell's pixels shows the largest weight of the tokens it covers (a short example's tokens
   * cover several pixels). It reads the stored bytes (a long example has a million weights a head): the largest
   * byte of a row's keys is its largest weight, divided by the row's sum over the keys shown when the special tokens are
   * hidden, as HeadView.visible renormalises.
   */
  paint(image, width, flat, x, y) {
    const view = this.headView;
    const tokens = view.example.tokens;
    const n = tokens.length;
    const bytes = view.exampleBytes(view.state.example);
    const shown = Report.shownPositions(tokens, view.state.hideSpecial);
    const m = shown.length;
    if (!m) return;
    const square = Float64Array.from({length: Report.WEIGHT_STEPS + 1}, (_, step) => {
      const root = step / Report.WEIGHT_STEPS;
      return root * root; // as Report.headWeights decodes
    });
    const start = flat * n * n;
    let sums = null; // each row's sum over the keys shown, added in their order (as Report.visibleWeights)
    if (view.state.hideSpecial) {
      sums = new Float64Array(m);
      for (let query = 0; query < m; query++) {
        let sum = 0;
        for (let key = 0; key < m; key++) sum += square[bytes[start + shown[query] * n + shown[key]]];
        sums[query] = sum;
      }
    }
    const spans = Array.from({length: this.cell}, (_, pixel) => {
      const first = Math.floor((pixel * m) / this.cell);
      return [first, Math.max(first + 1, Math.floor(((pixel + 1) * m) / this.cell))];
    });
    const largest = new Float64Array(this.cell); // of the pixel row being painted, by pixel column
    for (let pixelY = 0; pixelY < this.cell; pixelY++) {
      largest.fill(0);
      const [rowStart, rowEnd] = spans[pixelY];
      for (let query = rowStart; query < rowEnd; query++) {
        const rowOffset = start + shown[query] * n;
        const sum = sums ? sums[query] : 1;
        if (sum <= 0) continue; // a row with nothing left stays 0
        for (let pixelX = 0; pixelX < this.cell; pixelX++) {
          const [columnStart, columnEnd] = spans[pixelX];
          let step = 0;
          for (let key = columnStart; key < columnEnd; key++) step = Math.max(step, bytes[rowOffset + shown[key]]);
          largest[pixelX] = Math.max(largest[pixelX], sums ? square[step] / sum : square[step]);
        }
      }
      for (let pixelX = 0; pixelX < this.cell; pixelX++) {
        image.data.set([31, 119, 180, Math.round(255 * Math.sqrt(largest[pixelX]))],
          4 * ((y + pixelY) * width + x + pixelX));
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
        this.paint(image, width, layer * nHeads + head, ...this.corner(layer, head));
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
      "click: show it in the head view"].filter((line) => line));
  }
};
