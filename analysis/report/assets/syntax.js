// The syntax page: Table 1 (sortable; a row opens its head on a sentence with the relation, as Figure 5) and
// the attention probes (Table 3).
"use strict";

(function () {
  const data = Report.data;
  const [nLayers, nHeads] = data.grid;
  const flatOf = (row) => row.layer * nHeads + row.head;
  const signed = (offset) => (offset > 0 ? `+${offset}` : String(offset));

  /** The map positions (1-based words; the classifier token is 0) of a row's queries and of the keys they should
   * find. */
  function relationPositions(row, sentence) {
    const dependents = [];
    sentence.relations.forEach((relation, word) => {
      if (row.relation === "all" || relation === row.relation) dependents.push(word + 1);
    });
    const heads = dependents.map((position) => sentence.heads[position - 1]);
    return row.direction === "dep->head" ? {queries: dependents, keys: heads} : {queries: heads, keys: dependents};
  }

  /** Draw a row's head on its sentence in `svg`. */
  function drawRelation(svg, row) {
    Report.clear(svg);
    svg.dataset.relation = row.relation;
    const sentence = data.sentences[row.sentence];
    const n = sentence.tokens.length;
    const weights = Report.headWeights(Report.decodeWeights(sentence.maps[String(flatOf(row))]), 0, n);
    const {queries, keys} = relationPositions(row, sentence);
    const which = row.direction === "dep->head" ? "dependents" : "heads";
    const title = `${row.relation}: head ${Report.headLabel(flatOf(row), nHeads)}, ${row.direction}, ` +
      `${Report.percent(row.accuracy)}% accurate\nred: the relation's ${which} and their attention; green: ` +
      "where it should go";
    const size = Report.attentionPanel(svg, {tokens: sentence.tokens, weights, title, highlight: queries,
      keyHighlight: keys}, 8, 4);
    Report.resize(svg, size.width + 16, size.height + 12);
  }

  function table1Section() {
    const {section, body} = Report.section("table-1", "Table 1: the best head of each relation",
      "Each relation's best single head against the best offset baseline (heads and offsets " +
      (data.select_on === "same" ? "chosen and scored on the same data, as in the paper" :
        "chosen on train, scored on this data") + "). Click a column's name to sort by it, a row to see its head " +
      "on a sentence.", "table-1", () => Report.tableDrawing(section.querySelector("table")));
    const view = Report.section("relation-view", "The row's head on a sentence (Figure 5)",
      `The chosen row's head on the first sentence of at most ${data.max_words} words with the relation (for ` +
      "the all row, every word). Queries on the left, keys on the right; hover a word to see where it attends.",
      () => `relation-view-${view.svg.dataset.relation}`);
    view.svg = Report.newDrawing(view.body);
    const columns = [
      {key: "relation", label: "relation", value: (row) => row.relation, text: (row) => row.relation},
      {key: "count", label: "count", numeric: true, value: (row) => row.count, text: (row) => String(row.count)},
      {key: "head", label: "head", value: flatOf, text: (row) => Report.headLabel(flatOf(row), nHeads)},
      {key: "direction", label: "direction", value: (row) => row.direction, text: (row) => row.direction},
      {key: "accuracy", label: "accuracy (%)", numeric: true, value: (row) => row.accuracy,
        text: (row) => Report.percent(row.accuracy)},
      {key: "baseline", label: "baseline", numeric: true, value: (row) => row.baseline_offset,
        text: (row) => signed(row.baseline_offset)},
      {key: "baseline_accuracy", label: "baseline accuracy (%)", numeric: true,
        value: (row) => row.baseline_accuracy, text: (row) => Report.percent(row.baseline_accuracy)},
    ];
    const rows = [...data.table];
    const shown = rows.filter((row) => row.sentence !== null);
    const open = (row) => {
      if (row.sentence === null) return;
      table.select(row);
      drawRelation(view.svg, row);
    };
    const table = Report.table(body, columns, rows, {sortable: true, onRow: open});
    if (shown.length < rows.length) {
      Report.note(view.section, `No sentence of at most ${data.max_words} words has ` +
        rows.filter((row) => row.sentence === null).map((row) => row.relation).join(", ") + ".");
    }
    if (shown.length) open(shown[0]);
    else view.section.hidden = true;
  }

  function probesSection() {
    if (!data.probes) return;
    const {section, body} = Report.section("table-3", "Table 3: attention probes",
      "Unlabeled attachment score on this data (punct ignored) of the probes trained on train, and of the " +
      "right-branching baseline.", "table-3", () => Report.tableDrawing(section.querySelector("table")));
    Report.table(body, [
      {key: "model", label: "model", value: (row) => row[0], text: (row) => row[0]},
      {key: "uas", label: "UAS (%)", numeric: true, value: (row) => row[1], text: (row) => Report.percent(row[1])},
    ], data.probes, {sortable: true});
  }

  Report.frame(`${data.source}: ${nLayers} layers × ${nHeads} heads. Heads are 1-based layer-head.`);
  Report.start(() => {
    table1Section();
    probesSection();
  });
})();
