// Charts of one number per head: points by layer (Figures 2 and 4), a 2-D embedding (Figure 6) and a heat map
// (the coreference accuracies). Every head is a mark with data-head = its flat index: hovering shows its numbers,
// clicking calls back.
"use strict";

/** About five round tick values from 0 to `top`, 1, 2, 2.5 or 5 times a power of ten apart (small tops too). */
Report.ticks = function (top) {
  if (!(top > 0)) return [0];
  const power = 10 ** Math.floor(Math.log10(top / 6));
  const step = [1, 2, 2.5, 5, 10].map((factor) => factor * power).find((candidate) => top / candidate <= 6);
  const values = [];
  for (let index = 0; index * step <= top * (1 + 1e-9); index++) values.push(Number((index * step).toPrecision(6)));
  return values;
};

/** A tick's label, short for small values ("2e-5", not "0.00002"). */
Report.tickLabel = function (tick) {
  return tick !== 0 && Math.abs(tick) < 1e-3 ? tick.toExponential() : String(tick);
};

/** The marker shapes a chart can draw (circle is a <circle>, the others a <path>). */
Report.MARKER_SHAPES = ["circle", "square", "diamond", "triangle-up", "triangle-down", "triangle-left",
  "triangle-right"];

/** The path of a marker `shape` of about radius `r` centred at (cx, cy). */
Report.markerPath = function (shape, cx, cy, r) {
  const corners = {
    square: [[-0.9, -0.9], [0.9, -0.9], [0.9, 0.9], [-0.9, 0.9]],
    diamond: [[0, -1.3], [1.3, 0], [0, 1.3], [-1.3, 0]],
    "triangle-up": [[0, -1.35], [1.2, 0.75], [-1.2, 0.75]],
    "triangle-down": [[0, 1.35], [1.2, -0.75], [-1.2, -0.75]],
    "triangle-left": [[-1.35, 0], [0.75, -1.2], [0.75, 1.2]],
    "triangle-right": [[1.35, 0], [-0.75, -1.2], [-0.75, 1.2]],
  }[shape];
  const round = (value) => Math.round(100 * value) / 100;
  return corners.map(([dx, dy], index) => `${index ? "L" : "M"}${round(cx + r * dx)} ${round(cy + r * dy)}`)
    .join("") + "Z";
};

/** A marker of `shape` (one of MARKER_SHAPES) and radius `r` at (cx, cy), with `attributes`, in `parent`. */
Report.marker = function (parent, shape, cx, cy, r, attributes = {}) {
  if (!shape || shape === "circle") return Report.svg("circle", {cx, cy, r, ...attributes}, parent);
  return Report.svg("path", {d: Report.markerPath(shape, cx, cy, r), "data-shape": shape, "data-cx": cx,
    "data-cy": cy, ...attributes}, parent);
};

/** Give a marker (a circle, or a path drawn by Report.marker) the radius `r`. */
Report.sizeMarker = function (mark, r) {
  if (mark.dataset.shape) {
    mark.setAttribute("d", Report.markerPath(mark.dataset.shape, Number(mark.dataset.cx), Number(mark.dataset.cy),
      r));
  } else mark.setAttribute("r", r);
};

/** Hover and click behaviour of one head's mark: enlarged and described while hovered. */
Report.headMark = function (mark, flat, describe, onClick, radius = null) {
  mark.classList.add("head-mark");
  mark.setAttribute("data-head", flat);
  mark.addEventListener("mousemove", (event) => {
    if (radius) Report.sizeMarker(mark, radius * 1.8);
    Report.showTooltip(event, describe(flat));
  });
  mark.addEventListener("mouseleave", () => {
    if (radius) Report.sizeMarker(mark, radius);
    Report.hideTooltip();
  });
  if (onClick) mark.addEventListener("click", () => onClick(flat));
};

/**
 * Panels stacked in one drawing, each showing one number per head at its layer (a point per head, a line through
 * the layer means), as Figures 2 and 4. `panels`: [{title, yLabel, yMax, series: [{label, colour, values
 * [layers][heads]}], reference: {value, label} or null}]. `describe(flat, series)` gives a head's tooltip lines.
 */
Report.layerPanels = function (svg, panels, {nLayers, nHeads, describe, onClick}) {
  const [left, plotWidth, legendWidth, plotHeight, titleHeight, gap] = [64, 580, 210, 190, 26, 30];
  const width = left + plotWidth + legendWidth;
  const x = (layer) => left + ((layer - 0.4) / (nLayers + 0.2)) * plotWidth;
  let top = 4;
  for (const panel of panels) {
    const y = (value) => top + titleHeight + plotHeight * (1 - value / panel.yMax);
    const group = Report.svg("g", {class: "panel"}, svg);
    Report.svg("text", {x: left + plotWidth / 2, y: top + 16, "text-anchor": "middle", "font-weight": "bold",
      text: panel.title}, group);
    Report.svg("rect", {x: left, y: top + titleHeight, width: plotWidth, height: plotHeight, fill: "none",
      stroke: "#999"}, group);
    for (const tick of Report.ticks(panel.yMax)) {
      Report.svg("line", {x1: left, x2: left + plotWidth, y1: y(tick), y2: y(tick), stroke: "#eee"}, group);
      Report.svg("text", {x: left - 6, y: y(tick), "text-anchor": "end", "dominant-baseline": "central",
        "font-size": 11, text: Report.tickLabel(tick)}, group);
    }
    for (let layer = 1; layer <= nLayers; layer++) {
      Report.svg("text", {x: x(layer), y: top + titleHeight + plotHeight + 14, "text-anchor": "middle",
        "font-size": 11, text: String(layer)}, group);
    }
    Report.svg("text", {x: 14, y: top + titleHeight + plotHeight / 2, "text-anchor": "middle",
      transform: `rotate(-90 14 ${top + titleHeight + plotHeight / 2})`, text: panel.yLabel}, group);
    if (panel.reference) {
      const level = y(panel.reference.value);
      Report.svg("line", {x1: left, x2: left + plotWidth, y1: level, y2: level, stroke: "#555",
        "stroke-dasharray": "5 4"}, group);
      Report.svg("text", {x: left + plotWidth - 6, y: level - 5, "text-anchor": "end", "font-size": 11,
        text: `${panel.reference.label} (${panel.reference.value.toFixed(2)})`}, group);
    }
    panel.series.forEach((series, index) => {
      const offset = panel.series.length > 1 ? -0.2 + (0.4 * index) / (panel.series.length - 1) : 0;
      const means = series.values.map((row) => row.reduce((a, b) => a + b, 0) / row.length);
      Report.svg("polyline", {fill: "none", stroke: series.colour, "stroke-width": 1.5,
        points: means.map((mean, layer) => `${x(layer + 1 + offset)},${y(mean)}`).join(" ")}, group);
      series.values.forEach((row, layer) => row.forEach((value, head) => {
        const spread = nHeads > 1 ? 0.1 * (head / (nHeads - 1) - 0.5) : 0; // heads side by side, each hoverable
        const point = Report.svg("circle", {cx: x(layer + 1 + offset + spread), cy: y(value), r: 3.5,
          fill: series.colour, "fill-opacity": 0.55}, group);
        point.setAttribute("data-series", series.label);
        Report.headMark(point, layer * nHeads + head, (flat) => describe(flat, series), onClick, 3.5);
      }));
      const legendY = top + titleHeight + 10 + 18 * index; // right of the plot
      Report.svg("circle", {cx: left + plotWidth + 16, cy: legendY, r: 4, fill: series.colour}, group);
      Report.svg("text", {x: left + plotWidth + 26, y: legendY, "dominant-baseline": "central", "font-size": 11,
        text: series.label}, group);
    });
    const noteY = top + titleHeight + 10 + 18 * panel.series.length;
    Report.svg("text", {x: left + plotWidth + 12, y: noteY, "dominant-baseline": "central", "font-size": 11,
      fill: "#555", text: "points: heads; lines: layer means"}, group);
    top += titleHeight + plotHeight + gap;
  }
  Report.svg("text", {x: left + plotWidth / 2, y: top - 2, "text-anchor": "middle", text: "layer"}, svg);
  Report.resize(svg, width, top + 6);
};

/**
 * The heads embedded in a plane (Figure 6), with equal scales on both axes. `points` [N][2]; `colour(flat)`;
 * `marker(flat)`, optional, a head's shape (one of MARKER_SHAPES; circles by default); `legend` [[colour, label,
 * shape (optional)]], three to a row, a null entry starting a new row; `named` a Map flat -> label, circled and
 * written; `describe(flat)` and `onClick(flat)` as for the other charts.
 */
Report.scatterPlot = function (svg, points, {colour, marker = null, legend, named = new Map(), describe, onClick}) {
  const [size, margin] = [560, 24];
  const xs = points.map((point) => point[0]);
  const ys = points.map((point) => point[1]);
  const [xMin, xMax, yMin, yMax] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const scale = (size - 2 * margin) / Math.max(xMax - xMin, yMax - yMin, 1e-12);
  const x = (value) => margin + (value - xMin) * scale + ((size - 2 * margin) - (xMax - xMin) * scale) / 2;
  const y = (value) => size - margin - (value - yMin) * scale - ((size - 2 * margin) - (yMax - yMin) * scale) / 2;
  Report.svg("rect", {x: 0.5, y: 0.5, width: size - 1, height: size - 1, fill: "#f7f7f7", stroke: "#bbb"}, svg);
  points.forEach((point, flat) => {
    const mark = Report.marker(svg, marker ? marker(flat) : "circle", x(point[0]), y(point[1]), 5,
      {fill: colour(flat), stroke: "#fff", "stroke-width": 0.8});
    Report.headMark(mark, flat, describe, onClick, 5);
  });
  for (const [flat, label] of named) {
    const [cx, cy] = [x(points[flat][0]), y(points[flat][1])];
    Report.svg("circle", {cx, cy, r: 10, fill: "none", stroke: "#000", "stroke-width": 1.2}, svg);
    const left = cx + 12 + 7 * label.length > size; // written left of its point where it would leave the plot
    Report.svg("text", {x: left ? cx - 12 : cx + 12, y: cy - 8, "text-anchor": left ? "end" : "start",
      "font-size": 11, text: label, stroke: "#fff", "stroke-width": 3, "paint-order": "stroke"}, svg);
  }
  let [row, column] = [0, 0];
  for (const entry of legend) {
    if (entry === null || column === 3) [row, column] = [row + (column > 0), 0]; // null: a new row
    if (entry === null) continue;
    const [legendColour, label, shape] = entry;
    const legendY = size + 16 + 18 * row;
    const legendX = 10 + 190 * column;
    Report.marker(svg, shape, legendX + 6, legendY, 5, {fill: legendColour});
    Report.svg("text", {x: legendX + 16, y: legendY, "dominant-baseline": "central", "font-size": 11,
      text: label}, svg);
    column += 1;
  }
  Report.resize(svg, size, size + 12 + 18 * (row + (column > 0)));
};

/**
 * A heat map of one number per head, `values` [layers][heads] (null: nothing to show), layers down and heads
 * across (1-based), viridis from the smallest to the largest value, the head `best` ([layer, head]) boxed.
 */
Report.heatMap = function (svg, values, {label, best, describe, onClick}) {
  const [nLayers, nHeads] = [values.length, values[0].length];
  const [cellWidth, cellHeight, left, top] = [42, 30, 60, 40];
  const present = values.flat().filter((value) => value !== null);
  const [low, high] = [Math.min(...present), Math.max(...present)];
  const position = (value) => (high > low ? (value - low) / (high - low) : 0.5);
  for (let head = 0; head < nHeads; head++) {
    Report.svg("text", {x: left + (head + 0.5) * cellWidth, y: top - 8, "text-anchor": "middle", "font-size": 11,
      text: String(head + 1)}, svg);
  }
  Report.svg("text", {x: left + (nHeads * cellWidth) / 2, y: 14, "text-anchor": "middle", text: "head"}, svg);
  values.forEach((row, layer) => {
    Report.svg("text", {x: left - 8, y: top + (layer + 0.5) * cellHeight, "text-anchor": "end",
      "dominant-baseline": "central", "font-size": 11, text: String(layer + 1)}, svg);
    row.forEach((value, head) => {
      const cell = Report.svg("rect", {x: left + head * cellWidth, y: top + layer * cellHeight, width: cellWidth,
        height: cellHeight, fill: value === null ? "#eee" : Report.viridis(position(value)), stroke: "#fff"}, svg);
      Report.headMark(cell, layer * nHeads + head, describe, onClick);
    });
  });
  Report.svg("text", {x: 16, y: top + (nLayers * cellHeight) / 2, "text-anchor": "middle",
    transform: `rotate(-90 16 ${top + (nLayers * cellHeight) / 2})`, text: "layer"}, svg);
  if (best) {
    Report.svg("rect", {x: left + best[1] * cellWidth + 1, y: top + best[0] * cellHeight + 1, width: cellWidth - 2,
      height: cellHeight - 2, fill: "none", stroke: "#d62728", "stroke-width": 2.5, "pointer-events": "none"}, svg);
  }
  const barX = left + nHeads * cellWidth + 24;
  const barHeight = nLayers * cellHeight;
  for (let step = 0; step < 50; step++) {
    Report.svg("rect", {x: barX, y: top + barHeight * (1 - (step + 1) / 50), width: 14, height: barHeight / 50 + 0.5,
      fill: Report.viridis((step + 0.5) / 50)}, svg);
  }
  Report.svg("text", {x: barX + 20, y: top + 6, "font-size": 11, text: high.toFixed(3)}, svg);
  Report.svg("text", {x: barX + 20, y: top + barHeight, "font-size": 11, text: low.toFixed(3)}, svg);
  Report.svg("text", {x: barX + 20, y: top + barHeight / 2, "font-size": 11, text: label}, svg);
  Report.resize(svg, barX + 110, top + barHeight + 8);
};
