// The view page (view_attention.py): the head view and the model view of one or a few examples, nothing else.
"use strict";

(function () {
  const data = Report.data;
  const [nLayers, nHeads] = data.grid;
  const examples = data.head_view.examples;

  function headViewSection() {
    let headView = null;
    const {section, toolbar, body} = Report.section("head-view", "Head view",
      `One head's map (${data.map}) on one example: a line joins each token on the left (the query) to each token ` +
      "on the right that it attends to; opacity is the square root of the weight, width 0.2 + 2.5 × weight, " +
      "weights below 0.002 are not drawn. Hover a token to see where it attends (left) or from where it is " +
      `attended (right). An example of more than ${Report.HEAD_VIEW_WINDOW} tokens draws the lines of a range of ` +
      "queries (token positions, 1-based) in a drawing that scrolls; every token stays on both sides.",
      () => `head-view-${headView.label}-example-${headView.example.index}`);
    Report.note(section, data.head_view.note);
    headView = new Report.HeadView(body, toolbar, examples, data.grid);
    return headView;
  }

  function modelViewSection(headView) {
    const {body} = Report.section("model-view", "Model view",
      "Every head on the head view's example (and with its hidden tokens): each thumbnail is a head's map, a row " +
      "per query token and a column per key token, darker for more attention (square root of the weight, like " +
      "the lines' opacity). Click a head to show it in the head view; the red box is the head shown.",
      () => `model-view-example-${headView.example.index}`);
    return new Report.ModelView(body, headView, (layer, head) => {
      headView.select(layer, head);
      document.getElementById("head-view").scrollIntoView();
    });
  }

  const count = `${examples.length} example${examples.length === 1 ? "" : "s"}`;
  Report.frame(`${data.source}: ${count}, ${nLayers} layers × ${nHeads} heads; heads are 1-based layer-head`);
  Report.start(() => {
    if (!examples.length) {
      const {section} = Report.section("head-view", "Head view", "");
      Report.note(section, data.head_view.note || "No example to show.");
      return;
    }
    const headView = headViewSection();
    modelViewSection(headView);
    headView.select(...data.selected); // draws the head view and the model view
  });
})();
