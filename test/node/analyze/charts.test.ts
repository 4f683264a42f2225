// Figures: Vega-Lite specifications rendered to SVG in Node, no browser.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { barSpec, lineSpec, toSvg } from "../../../node/analyze/charts.ts";

describe("charts", () => {
  it("renders a line chart with the paper's point and a log-scale bar chart to SVG", async () => {
    const line = await toSvg(lineSpec({
      title: "reduce rate", data: [{ x: 0.2, y: 0.8, s: "A" }, { x: 0.8, y: 0.2, s: "A" }], x: "x", y: "y", series: "s",
      xTitle: "compression ratio", yTitle: "rate", percentY: true, marks: [{ x: 0.7, y: 0.6, label: "paper" }],
    }));
    assert.match(line, /^<svg[^>]*>[\s\S]*<\/svg>$/);
    for (const text of ["reduce rate", "compression ratio", "paper", "80%"]) assert.ok(line.includes(text), text);
    const bars = await toSvg(barSpec({
      title: "reads", data: [{ n: "5", v: 250, g: "flat" }, { n: "5", v: 50, g: "hierarchy" }], category: "n", value: "v", group: "g",
      categoryTitle: "n", valueTitle: "reads", logValue: true,
    }));
    assert.equal(bars.match(/aria-roledescription="bar"/g)?.length, 2); // one bar per row, drawn on a log scale
    assert.ok(bars.includes("hierarchy"));
  });
});
