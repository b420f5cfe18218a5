// The general analysis page: the head view, the model view, Figures 2, 4 and 6.
"use strict";

(function () {
  const data = Report.data;
  const [nLayers, nHeads] = data.grid;
  const behaviourNames = Object.fromEntries(data.behaviours);
  const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c"];
  const {cls: CLS, sep: SEP} = Report.ROLES; // the data's strings of the roles: [CLS] and [SEP], <s> and </s>

  /** The behaviour of head `flat`, in words. */
  const behaviourOf = (flat) => behaviourNames[data.behaviour[Math.floor(flat / nHeads)][flat % nHeads]];

  /** A head's statistics, as tooltip lines. */
  function describe(flat) {
    const [layer, head] = [Math.floor(flat / nHeads), flat % nHeads];
    const value = (key) => Report.format(data.avg_attn[key][layer][head]);
    return [
      `Head ${Report.headLabel(flat, nHeads)}: ${behaviourOf(flat)}`,
      `to ${CLS} ${value("cls")}, ${SEP} ${value("sep")}, . or , ${value("punct")}`,
      `${SEP} → ${SEP} ${value("sep_sep")}, other → ${SEP} ${value("rest_sep")}`,
      `same token ${value("self")}, next ${value("next")}, previous ${value("prev")}`,
      `entropy ${Report.format(data.entropy[layer][head], 2)} nats, from ${CLS} ` +
        `${Report.format(data.entropy_from_cls[layer][head], 2)}`,
      "click: show it in the head view",
    ];
  }

  function headViewSection() {
    const examples = data.head_view.examples;
    let headView = null;
    const {section, toolbar, body} = Report.section("head-view", "Head view",
      "One head on one example: a line joins each token on the left (the query) to each token on the right that " +
      "it attends to; opacity is the square root of the weight, width 0.2 + 2.5 × weight, weights below 0.002 " +
      "are not drawn. Hover a token to see where it attends (left) or from where it is attended (right).",
      () => `head-view-${headView.label}-example-${headView.example.index}`);
    Report.note(section, data.head_view.note);
    headView = new Report.HeadView(body, toolbar, examples, data.grid, behaviourOf);
    if (data.figure_heads.length) {
      const chips = Report.html("div", {class: "chips"}, toolbar);
      chips.append("Figure 1's heads: ");
      for (const [flat, caption] of data.figure_heads) {
        const chip = Report.html("button", {type: "button", class: "chip",
          text: `${Report.headLabel(flat, nHeads)} ${caption}`}, chips);
        chip.addEventListener("click", () => headView.select(Math.floor(flat / nHeads), flat % nHeads));
      }
    }
    return headView;
  }

  /** Show head `flat` in the head view and scroll to it. */
  function opener(headView) {
    return (flat) => {
      headView.select(Math.floor(flat / nHeads), flat % nHeads);
      document.getElementById("head-view").scrollIntoView();
    };
  }

  function modelViewSection(headView) {
    const {body} = Report.section("model-view", "Model view",
      "Every head on the head view's example (and with its hidden tokens): each thumbnail is a head's attention " +
      "matrix, a row per query token and a column per key token, darker for more attention (square root of the " +
      "weight, like the lines' opacity). Click a head to show it in the head view; the red box is the head shown.",
      () => `model-view-example-${headView.example.index}`);
    return new Report.ModelView(body, headView, (layer, head) => opener(headView)(layer * nHeads + head));
  }

  function figure2Section(open) {
    const {body} = Report.section("figure-2", "Figure 2: average attention",
      `Each point is one head at its layer, its average attention over ${data.n_examples} examples (definitions ` +
      "in docs/definitions.md); lines join the layer means. Hover a point for the head's numbers.", "figure-2");
    const series = (pairs) => pairs.map(([key, label], index) => ({label, colour: COLOURS[index],
      values: data.avg_attn[key]}));
    Report.layerPanels(Report.newDrawing(body), [
      {title: "Attention to special tokens", yLabel: "average attention", yMax: 1,
        series: series([["cls", CLS], ["sep", SEP], ["punct", ". or ,"]])},
      {title: `Attention to ${SEP} by kind of query token`, yLabel: "average attention", yMax: 1,
        series: series([["sep_sep", `${SEP} → ${SEP}`], ["rest_sep", `other → ${SEP}`]])},
      {title: "Attention to relative positions", yLabel: "average attention", yMax: 1,
        series: series([["self", "same token"], ["next", "next token"], ["prev", "previous token"]])},
    ], {nLayers, nHeads, describe: (flat, shown) => seriesTip(flat, shown), onClick: open});
  }

  /** A head's tooltip on a chart: the value plotted, then its statistics. */
  function seriesTip(flat, series) {
    const value = series.values[Math.floor(flat / nHeads)][flat % nHeads];
    const [first, ...rest] = describe(flat);
    return [first, `${series.label}: ${Report.format(value)}`, ...rest];
  }

  function figure4Section(open) {
    const {body} = Report.section("figure-4", "Figure 4: entropies",
      `Entropy (nats) of each head's attention, averaged over query tokens and from ${CLS} only; the dashed line ` +
      "is the entropy of uniform attention over these examples.", "figure-4");
    const top = Math.max(data.uniform_entropy, ...data.entropy.flat(), ...data.entropy_from_cls.flat()) * 1.08;
    const reference = {value: data.uniform_entropy, label: "uniform attention"};
    Report.layerPanels(Report.newDrawing(body), [
      {title: "Entropy of attention (mean over queries)", yLabel: "entropy (nats)", yMax: top, reference,
        series: [{label: "entropy", colour: COLOURS[0], values: data.entropy}]},
      {title: `Entropy of attention from ${CLS}`, yLabel: "entropy (nats)", yMax: top, reference,
        series: [{label: `entropy from ${CLS}`, colour: COLOURS[0], values: data.entropy_from_cls}]},
    ], {nLayers, nHeads, describe: (flat, shown) => seriesTip(flat, shown), onClick: open});
  }

  function figure6Section(open) {
    const {section, toolbar, body} = Report.section("figure-6", "Figure 6: heads by their distances",
      "Heads placed by multidimensional scaling of the Jensen-Shannon distances between their attention " +
      "distributions: heads that attend alike sit together. Circled: Figure 1's heads. Hover a head for its " +
      "numbers; click it to show it in the head view.", data.mds ? "figure-6" : null);
    if (!data.mds) {
      Report.note(section, "No head distances were given (general_analysis.py --head-distances): no Figure 6.");
      return;
    }
    const svg = Report.newDrawing(body);
    const named = new Map(data.figure_heads.map(([flat]) => [flat, Report.headLabel(flat, nHeads)]));
    const draw = (by) => {
      Report.clear(svg);
      const byLayer = by === "layer";
      const layerColour = (layer) => Report.viridis(nLayers > 1 ? layer / (nLayers - 1) : 0.5);
      const colour = (flat) => (byLayer ? layerColour(Math.floor(flat / nHeads))
        : Report.BEHAVIOUR_COLOURS[data.behaviour[Math.floor(flat / nHeads)][flat % nHeads]]);
      const present = new Set(data.behaviour.flat());
      const legend = byLayer ? Array.from({length: nLayers}, (_, layer) => [layerColour(layer), `layer ${layer + 1}`])
        : data.behaviours.filter(([label]) => present.has(label))
          .map(([label, name]) => [Report.BEHAVIOUR_COLOURS[label], name]);
      Report.scatterPlot(svg, data.mds, {colour, legend, named, describe, onClick: open});
    };
    Report.select(toolbar.querySelector(".controls") || Report.html("div", {class: "controls"}, toolbar),
      "Colour by", [["behaviour", "behaviour"], ["layer", "layer"]], "behaviour", draw);
    draw("behaviour");
  }

  Report.frame(`${data.source}: ${data.n_examples} examples with attention maps, ${nLayers} layers × ${nHeads} ` +
    "heads. Heads are 1-based layer-head.");
  Report.start(() => {
    const headView = headViewSection();
    const open = opener(headView);
    modelViewSection(headView);
    const first = data.figure_heads.length ? data.figure_heads[0][0] : 0;
    headView.select(Math.floor(first / nHeads), first % nHeads); // draws the head view and the model view
    figure2Section(open);
    figure4Section(open);
    figure6Section(open);
  });
})();
