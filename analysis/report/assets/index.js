// The index of a demo's report pages: a link to each.
"use strict";

(function () {
  Report.frame("");
  Report.start(() => {
    const {body} = Report.section("pages", "Report pages", "Each analysis's page: its tables, figures and views, " +
      "interactive and self-contained (it opens offline, from disk).");
    const list = Report.html("ul", {class: "pages"}, body);
    for (const page of Report.data.pages) {
      const item = Report.html("li", {}, list);
      Report.html("a", {href: page.href, text: page.title}, item);
      item.append(` (${page.href})`);
    }
  });
})();
