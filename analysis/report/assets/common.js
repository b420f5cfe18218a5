// What every report page shares: the page's data, building elements, sections with their export buttons,
// the tooltip, sortable tables, colours and head labels. Everything lives in the one global `Report`.
"use strict";

const Report = {};

Report.SVG_NS = "http://www.w3.org/2000/svg"; // a namespace name, never fetched
Report.FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";

/** The page's data: the JSON in <script id="report-data">. */
Report.data = JSON.parse(document.getElementById("report-data").textContent);

/** The strings of the classifier and separator roles in the data ([CLS] and [SEP] for BERT, <s> and </s> for
 * RoBERTa: bert/special_tokens.py); BERT's when the data records none. Labels name the roles by them. */
Report.ROLES = Report.data.special_tokens || {cls: "[CLS]", sep: "[SEP]"};

/** A new element `tag` with `attributes` (a `text` key sets its text), appended to `parent` when given. */
Report.html = function (tag, attributes = {}, parent = null) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") element.textContent = value;
    else element.setAttribute(name, value);
  }
  if (parent) parent.appendChild(element);
  return element;
};

/** A new SVG element, as Report.html. */
Report.svg = function (tag, attributes = {}, parent = null) {
  const element = document.createElementNS(Report.SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") element.textContent = value;
    else element.setAttribute(name, value);
  }
  if (parent) parent.appendChild(element);
  return element;
};

/** An empty <svg> drawing with the page's font, sized later by Report.resize. */
Report.newDrawing = function (parent) {
  return Report.svg("svg", {"font-family": Report.FONT, "font-size": 12, fill: "#222"}, parent);
};

/** Give a drawing its size (and a white background, which exports keep). */
Report.resize = function (svg, width, height) {
  svg.setAttribute("width", Math.ceil(width));
  svg.setAttribute("height", Math.ceil(height));
  svg.setAttribute("viewBox", `0 0 ${Math.ceil(width)} ${Math.ceil(height)}`);
  let background = svg.querySelector(":scope > rect.background");
  if (!background) {
    background = Report.svg("rect", {class: "background", x: 0, y: 0, fill: "#fff"});
    svg.insertBefore(background, svg.firstChild);
  }
  background.setAttribute("width", Math.ceil(width));
  background.setAttribute("height", Math.ceil(height));
};

/** Remove every child of an element but a drawing's background. */
Report.clear = function (element) {
  for (const child of [...element.childNodes]) {
    if (!(child.classList && child.classList.contains("background"))) child.remove();
  }
};

/** The 1-based `layer-head` label of a 0-based flat head index. */
Report.headLabel = function (flat, nHeads) {
  return `${Math.floor(flat / nHeads) + 1}-${(flat % nHeads) + 1}`;
};

/** A number for people: `digits` decimals, or "-" for null. */
Report.format = function (value, digits = 3) {
  return value === null || value === undefined ? "-" : Number(value).toFixed(digits);
};

/** A fraction in percent with one decimal, "-" for null. */
Report.percent = function (value) {
  return value === null || value === undefined ? "-" : (100 * value).toFixed(1);
};

// ---------------------------------------------------------------------------- the page's frame

/** The header's source line and the navigation to each section. */
Report.frame = function (source) {
  document.querySelector("header .source").textContent = source ? `Source: ${source}` : "";
};

/**
 * A section of the page: a heading, an explanation, a toolbar and a body. With `exportName`, the toolbar has
 * SVG and PNG buttons exporting the drawing that `drawing()` returns (by default the body's first <svg>).
 */
Report.section = function (id, title, explanation, exportName = null, drawing = null) {
  const section = Report.html("section", {id, class: "view"}, document.getElementById("report"));
  Report.html("h2", {text: title}, section);
  if (explanation) Report.html("p", {class: "explanation", text: explanation}, section);
  const toolbar = Report.html("div", {class: "toolbar"}, section);
  const body = Report.html("div", {class: "body"}, section);
  const link = Report.html("a", {href: `#${id}`, text: title}, document.querySelector("header nav"));
  link.addEventListener("click", () => section.scrollIntoView());
  if (exportName) {
    const target = drawing || (() => body.querySelector("svg"));
    Report.exportButtons(toolbar, target, exportName);
  }
  return {section, toolbar, body};
};

/** A note above a section's body (for what a view leaves out); nothing when `text` is empty. */
Report.note = function (section, text) {
  if (text) section.insertBefore(Report.html("p", {class: "note", text}), section.querySelector(":scope > .body"));
};

/** A <select> named after its label, of `options` ([value, label] pairs), calling `onChange(value)`. */
Report.select = function (parent, label, options, value, onChange) {
  const wrapper = Report.html("label", {class: "control"}, parent);
  wrapper.append(`${label} `);
  const select = Report.html("select", {name: label.toLowerCase().replace(/ /g, "-")}, wrapper);
  for (const [optionValue, optionLabel] of options) {
    Report.html("option", {value: optionValue, text: optionLabel}, select);
  }
  select.value = String(value);
  select.addEventListener("change", () => onChange(select.value));
  return select;
};

/** A checkbox named `name`, with a label, calling `onChange(checked)`. */
Report.checkbox = function (parent, name, label, onChange) {
  const wrapper = Report.html("label", {class: "control"}, parent);
  const box = Report.html("input", {type: "checkbox", name}, wrapper);
  wrapper.append(` ${label}`);
  box.addEventListener("change", () => onChange(box.checked));
  return box;
};

// ---------------------------------------------------------------------------- tooltip

/** Show the tooltip near the pointer of `event`, one line per entry of `lines` (the first in bold). */
Report.showTooltip = function (event, lines) {
  const tooltip = document.getElementById("tooltip");
  tooltip.replaceChildren();
  lines.forEach((line, index) => Report.html(index === 0 ? "strong" : "div", {text: line}, tooltip));
  tooltip.hidden = false;
  const x = Math.min(event.clientX + 14, window.innerWidth - tooltip.offsetWidth - 8);
  const y = Math.min(event.clientY + 14, window.innerHeight - tooltip.offsetHeight - 8);
  tooltip.style.left = `${Math.max(0, x)}px`;
  tooltip.style.top = `${Math.max(0, y)}px`;
};

Report.hideTooltip = function () {
  document.getElementById("tooltip").hidden = true;
};

/** Show `lines()` as the tooltip while the pointer is over `element`. */
Report.hoverTip = function (element, lines) {
  element.addEventListener("mousemove", (event) => Report.showTooltip(event, lines()));
  element.addEventListener("mouseleave", Report.hideTooltip);
};

// ---------------------------------------------------------------------------- export

/** The drawing as a standalone SVG document (its current state, hover effects excluded). */
Report.serializeSvg = function (svg) {
  const copy = svg.cloneNode(true);
  copy.setAttribute("xmlns", Report.SVG_NS);
  copy.querySelectorAll(".hover-only").forEach((element) => element.remove());
  copy.querySelectorAll("[data-opacity-before-hover]").forEach((element) => {
    element.setAttribute("opacity", element.getAttribute("data-opacity-before-hover"));
    element.removeAttribute("data-opacity-before-hover");
  });
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(copy);
};

/** Offer `blob` as a download named `name` (a link to a blob: URL, clicked). */
Report.download = function (blob, name) {
  const url = URL.createObjectURL(blob);
  const link = Report.html("a", {href: url, download: name}, document.body);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
};

/** The drawing as a PNG blob at `scale` times its size: the serialized SVG drawn on a canvas. */
Report.svgToPng = function (svg, scale = 2) {
  const width = Number(svg.getAttribute("width"));
  const height = Number(svg.getAttribute("height"));
  const url = URL.createObjectURL(new Blob([Report.serializeSvg(svg)], {type: "image/svg+xml"}));
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => {
      const canvas = Report.html("canvas", {width: width * scale, height: height * scale});
      const context = canvas.getContext("2d");
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(url);
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("no PNG"))), "image/png");
    };
    image.onerror = () => reject(new Error("the SVG could not be drawn"));
    image.src = url;
  });
};

/** "SVG" and "PNG" buttons in `toolbar` that download `drawing()` as `<page>-<name()>.svg|png`. */
Report.exportButtons = function (toolbar, drawing, name) {
  const fileName = (extension) => `${document.body.dataset.kind}-${typeof name === "function" ? name() : name}` +
    `.${extension}`;
  const group = Report.html("span", {class: "export"}, toolbar);
  group.append("Export ");
  const svgButton = Report.html("button", {type: "button", class: "export-svg", text: "SVG"}, group);
  const pngButton = Report.html("button", {type: "button", class: "export-png", text: "PNG"}, group);
  svgButton.addEventListener("click", () => {
    Report.download(new Blob([Report.serializeSvg(drawing())], {type: "image/svg+xml"}), fileName("svg"));
  });
  pngButton.addEventListener("click", () => {
    Report.svgToPng(drawing()).then((blob) => Report.download(blob, fileName("png")));
  });
};

// ---------------------------------------------------------------------------- tables

/**
 * A table of `rows` under `columns` ({key, label, value(row) for sorting, text(row) for showing, numeric}).
 * With `sortable`, clicking a header sorts by that column (again: the other way). `onRow(row, tr)` runs on a
 * row's click. Returns {table, select(row)} where select marks a row as chosen.
 */
Report.table = function (parent, columns, rows, {sortable = false, onRow = null} = {}) {
  const table = Report.html("table", {class: sortable ? "sortable" : ""}, parent);
  const headRow = Report.html("tr", {}, Report.html("thead", {}, table));
  const body = Report.html("tbody", {}, table);
  const rowElements = new Map();
  let sortKey = null;
  let ascending = true;

  function fill() {
    body.replaceChildren();
    for (const row of rows) {
      const tr = rowElements.get(row) || Report.html("tr", {});
      if (!rowElements.has(row)) {
        for (const column of columns) {
          Report.html("td", {class: column.numeric ? "number" : "", text: column.text(row)}, tr);
        }
        if (onRow) {
          tr.classList.add("clickable");
          tr.addEventListener("click", () => onRow(row, tr));
        }
        rowElements.set(row, tr);
      }
      body.appendChild(tr);
    }
  }

  function sortBy(column, th) {
    ascending = sortKey === column.key ? !ascending : !column.numeric;
    sortKey = column.key;
    const sign = ascending ? 1 : -1;
    rows.sort((a, b) => {
      const [x, y] = [column.value(a), column.value(b)];
      if (x === y) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * sign;
    });
    headRow.querySelectorAll("th").forEach((cell) => cell.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    fill();
  }

  for (const column of columns) {
    const th = Report.html("th", {class: column.numeric ? "number" : "", text: column.label, scope: "col"}, headRow);
    if (sortable) {
      th.title = "sort by this column (again: the other way)";
      th.addEventListener("click", () => sortBy(column, th));
    }
  }
  fill();
  const select = (row) => {
    rowElements.forEach((tr) => tr.classList.remove("chosen"));
    if (rowElements.has(row)) rowElements.get(row).classList.add("chosen");
  };
  return {table, select};
};

/** An HTML table drawn as an SVG (its cells as they stand, sorted or not), for export. */
Report.tableDrawing = function (table) {
  const svg = Report.newDrawing(null);
  const rows = [...table.querySelectorAll("tr")].map((tr) => [...tr.children].map((cell) => ({
    text: cell.textContent, header: cell.tagName === "TH", numeric: cell.classList.contains("number"),
  })));
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => 7.2 * row[column].text.length)) + 16);
  const rowHeight = 22;
  rows.forEach((row, rowIndex) => {
    let x = 0;
    row.forEach((cell, column) => {
      const textX = cell.numeric ? x + widths[column] - 8 : x + 8;
      Report.svg("text", {x: textX, y: rowIndex * rowHeight + 15, "text-anchor": cell.numeric ? "end" : "start",
        "font-weight": cell.header ? "bold" : "normal", text: cell.text}, svg);
      x += widths[column];
    });
    Report.svg("line", {x1: 0, x2: x, y1: (rowIndex + 1) * rowHeight - 0.5, y2: (rowIndex + 1) * rowHeight - 0.5,
      stroke: rowIndex === 0 ? "#444" : "#ddd"}, svg);
  });
  Report.resize(svg, widths.reduce((a, b) => a + b, 0), rows.length * rowHeight);
  svg.insertBefore(svg.querySelector("rect.background"), svg.firstChild);
  return svg;
};

// ---------------------------------------------------------------------------- colours

/** Viridis, the figures' colour map, at t in [0, 1] (interpolated between nine of its colours). */
Report.viridis = function (t) {
  const stops = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30",
    "#fde725"];
  const position = Math.min(Math.max(t, 0), 1) * (stops.length - 1);
  const index = Math.min(Math.floor(position), stops.length - 2);
  const mix = position - index;
  const [a, b] = [stops[index], stops[index + 1]].map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));
  return `rgb(${a.map((value, i) => Math.round(value + (b[i] - value) * mix)).join(",")})`;
};

/** Behaviour colours of Figure 6 (as in analysis/figures.py). */
Report.BEHAVIOUR_COLOURS = {
  other: "#a0a8ac", next: "#d62728", prev: "#1f77b4", broad: "#ff7f0e", cls: "#9467bd", sep: "#2ca02c",
  punct: "#17becf",
};

/** Run `draw` once the page is parsed; note when the drawing was done and when its first frame was painted
 * (milliseconds since the navigation started, for bench/report_bench.py). */
Report.start = function (draw) {
  const run = () => {
    draw();
    window.reportDrawnAt = performance.now();
    document.body.dataset.drawn = "true";
    requestAnimationFrame(() => setTimeout(() => (window.reportPaintedAt = performance.now()), 0));
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
};
