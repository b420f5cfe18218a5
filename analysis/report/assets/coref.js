// The coreference page: Table 2, every head's accuracy as a heat map, a chosen head on example mentions.
"use strict";

(function () {
  const data = Report.data;
  const [nLayers, nHeads] = data.grid;
  const CATEGORIES = ["all", "pronoun", "proper", "nominal"];
  const counts = {all: data.n_mentions, ...data.n_by_type};
  const best = data.best_head;

  /** A head's accuracies, as tooltip lines. */
  function describe(flat) {
    const [layer, head] = [Math.floor(flat / nHeads), flat % nHeads];
    return [`Head ${Report.headLabel(flat, nHeads)}`, ...CATEGORIES.map((category) =>
      `${category}: ${Report.percent(data.head_accuracy[category][layer][head])}% of ${counts[category]}`),
    "click: show it on the mentions"];
  }

  function table2Section() {
    const protocol = best.selected_on === "same" ? "chosen and scored on the same data, as in the paper" :
      "chosen on the selection data, scored on this data";
    const {section, body} = Report.section("table-2", "Table 2: antecedent selection",
      `Accuracy (%) of the baselines and of the best head (${protocol}); in parentheses, the scored mentions ` +
      "(those with an antecedent in their window).", "table-2",
      () => Report.tableDrawing(section.querySelector("table")));
    const rows = [...data.baselines, [`Head ${best.label} (best)`, best.accuracy]];
    Report.table(body, [
      {key: "model", label: "model", value: (row) => row[0], text: (row) => row[0]},
      ...CATEGORIES.map((category) => ({key: category, label: `${category} (${counts[category]})`, numeric: true,
        value: (row) => row[1][category], text: (row) => Report.percent(row[1][category])})),
    ], rows, {sortable: true});
  }

  function heatMapSection(showHead) {
    const {toolbar, body} = Report.section("head-accuracy", "Every head's accuracy",
      "Antecedent-selection accuracy of each head (layers down, heads across, 1-based; the best head boxed). " +
      "Hover a head for its numbers; click it to show it on the mentions below.",
      () => `head-accuracy-${category}`);
    const svg = Report.newDrawing(body);
    let category = "all";
    const draw = () => {
      Report.clear(svg);
      Report.heatMap(svg, data.head_accuracy[category], {label: `accuracy (${category})`,
        best: [best.layer, best.head], describe, onClick: showHead});
    };
    const controls = Report.html("div", {class: "controls"}, toolbar);
    Report.select(controls, "Mentions", CATEGORIES.map((name) => [name, `${name} (${counts[name]})`]), category,
      (value) => {
        category = value;
        draw();
      });
    draw();
  }

  /** The mention view: a head (selectable) on every kept mention, side by side in one drawing. */
  function mentionSection() {
    const state = {layer: best.layer, head: best.head};
    const {section, toolbar, body} = Report.section("mention-view", "A head on example mentions",
      "The chosen head on the first scored mention of each type, on the words from two before its first " +
      "antecedent's head word to two after it: the mention's head word and its attention in red, its " +
      "antecedents' head words in green.", () => `mention-view-${Report.headLabel(flat(), nHeads)}`);
    const flat = () => state.layer * nHeads + state.head;
    if (!data.mentions.length) {
      Report.note(section, "No scored mention is close enough to its antecedents to draw.");
      return () => {};
    }
    Report.note(section, "Rows keep their weights over the whole window, so the lines of a row may sum to less " +
      "than 1.");
    const controls = Report.html("div", {class: "controls"}, toolbar);
    const range = (count) => Array.from({length: count}, (_, i) => [i, String(i + 1)]);
    const layerSelect = Report.select(controls, "Layer", range(nLayers), state.layer,
      (value) => show(Number(value), state.head));
    const headSelect = Report.select(controls, "Head", range(nHeads), state.head,
      (value) => show(state.layer, Number(value)));
    const svg = Report.newDrawing(body);
    const bytes = data.mentions.map((mention) => Report.decodeWeights(mention.weights));

    function show(layer, head) {
      Object.assign(state, {layer, head});
      layerSelect.value = String(layer);
      headSelect.value = String(head);
      Report.clear(svg);
      svg.dataset.head = String(flat());
      let x = 8;
      let height = 0;
      data.mentions.forEach((mention, index) => {
        const m = mention.tokens.length;
        const weights = Report.headWeights(bytes[index], flat() * m * m, m);
        const title = `${mention.type}: '${Report.shortToken(mention.text)}'\nhead ${Report.headLabel(flat(), nHeads)}`;
        const size = Report.attentionPanel(svg, {tokens: mention.tokens, weights, title, gap: 130,
          highlight: [mention.mention_head], keyHighlight: mention.antecedent_heads}, x, 4);
        x += size.width + 28;
        height = Math.max(height, size.height);
      });
      Report.resize(svg, x, height + 12);
    }
    show(state.layer, state.head);
    return (flatIndex) => {
      show(Math.floor(flatIndex / nHeads), flatIndex % nHeads);
      section.scrollIntoView();
    };
  }

  Report.frame(`${data.source}: ${data.n_mentions} scored mentions, ${nLayers} layers × ${nHeads} heads. Heads ` +
    "are 1-based layer-head.");
  Report.start(() => {
    table2Section();
    let showHead = null; // the mention view comes after the heat map that drives it
    heatMapSection((flat) => showHead(flat));
    showHead = mentionSection();
  });
})();
