// The gradient importance page: Figure 3 (each head's mean |dL/dα| over the keys [SEP] (or </s>), ". ," and the other
// tokens, above the average attention to them) and a sortable table of every head.
"use strict";

(function () {
  const data = Report.data;
  const [nLayers, nHeads] = data.grid;
  const {cls: CLS, sep: SEP} = Report.ROLES; // the data's strings of the roles: [CLS] and [SEP], <s> and </s>
  const CATEGORIES = [["sep", SEP], ["punct", ". or ,"], ["other", "other tokens"]];
  const COLOURS = ["#ff7f0e", "#2ca02c", "#d62728"]; // as Figure 3's PNG (matplotlib's C1, C2, C3)

  /** A gradient for people: three significant digits (as 4.91e-5 below 0.001), "-" for null. */
  function gradient(value) {
    if (value === null || value === undefined) return "-";
    return Math.abs(value) < 1e-3 && value !== 0 ? Number(value).toExponential(2) : Number(value).toPrecision(3);
  }

  /** The value of `statistic` (grad_importance or avg_attn) for `key` at head `flat`. */
  const valueOf = (statistic, key, flat) => data[statistic][key][Math.floor(flat / nHeads)][flat % nHeads];

  /** A head's six numbers, as tooltip lines. */
  function describe(flat) {
    const line = (statistic, text) => CATEGORIES.map(([key, label]) =>
      `${label} ${text(valueOf(statistic, key, flat))}`).join(", ");
    return [`Head ${Report.headLabel(flat, nHeads)}`, `mean |dL/dα|: ${line("grad_importance", gradient)}`,
      `average attention: ${line("avg_attn", Report.format)}`, "click: find it in the table"];
  }

  /** Figure 3: the gradient importance panel above the average attention panel; a click calls `findHead`. */
  function figure3Section(findHead) {
    const {body} = Report.section("figure-3", "Figure 3: gradient importance of attention",
      `Each point is one head at its layer, over ${data.n_examples} examples; lines join the layer means. Above: ` +
      "how much the masked-LM loss L depends on the head's attention to each kind of key, the mean |dL/dα| over " +
      `its attention weights α to ${SEP}, to . or , and to the other tokens but ${CLS} (docs/definitions.md, ` +
      "\"Gradient importance\"). Below: the average attention to the same keys, from the same forward pass. " +
      "Hover a point for the head's six numbers; click it to find it in the table.", "figure-3");
    const series = (statistic) => CATEGORIES.map(([key, label], index) => ({label, colour: COLOURS[index],
      values: data[statistic][key]}));
    const top = Math.max(...CATEGORIES.flatMap(([key]) => data.grad_importance[key].flat()));
    const warning = data.debug ? " (random --debug model)" : "";
    Report.layerPanels(Report.newDrawing(body), [
      {title: `Gradient importance: mean |dL/dα| per key${warning}`, yLabel: "mean |dL/dα|",
        yMax: top > 0 ? top * 1.08 : 1, series: series("grad_importance")},
      {title: `Average attention (as in Figure 2)${warning}`, yLabel: "average attention", yMax: 1,
        series: series("avg_attn")},
    ], {nLayers, nHeads, describe, onClick: findHead});
  }

  /** The table of every head; returns a function choosing a head's row and scrolling to it. */
  function headsSection() {
    const {section, body} = Report.section("heads", "Every head",
      "Each head's gradient importance (mean |dL/dα|) and average attention for the three kinds of key. Click a " +
      "column's name to sort by it.", "heads", () => Report.tableDrawing(section.querySelector("table")));
    const byHead = Array.from({length: nLayers * nHeads}, (_, flat) => ({flat}));
    const column = (statistic, label, text) => CATEGORIES.map(([key, keyLabel]) => ({key: `${statistic}-${key}`,
      label: `${label} ${keyLabel}`, numeric: true, value: (row) => valueOf(statistic, key, row.flat),
      text: (row) => text(valueOf(statistic, key, row.flat))}));
    const table = Report.table(body, [
      {key: "head", label: "head", value: (row) => row.flat, text: (row) => Report.headLabel(row.flat, nHeads)},
      ...column("grad_importance", "|dL/dα|", gradient), ...column("avg_attn", "attention", Report.format),
    ], [...byHead], {sortable: true});
    return (flat) => {
      table.select(byHead[flat]);
      section.querySelector("tr.chosen").scrollIntoView({block: "center"});
    };
  }

  const skipped = data.n_skipped ? ` (${data.n_skipped} skipped)` : "";
  const loss = data.loss === null ? "" : `, mean masked-LM loss ${Report.format(data.loss)}`;
  Report.frame(`${data.source}: ${data.n_examples} examples${skipped}, ${nLayers} layers × ${nHeads} heads${loss}. ` +
    "Heads are 1-based layer-head.");
  Report.start(() => {
    if (data.debug) {
      Report.html("p", {class: "warning", text: "A --debug run: a tiny randomly initialised model with a random " +
        "masked-LM head, a demonstration of the chain. Its numbers mean nothing."}, document.getElementById("report"));
    }
    let findHead = null; // the table comes after the figure that points into it
    figure3Section((flat) => findHead(flat));
    findHead = headsSection();
  });
})();
