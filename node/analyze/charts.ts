// Figures as SVG: Vega-Lite specifications compiled and rendered in Node (vega's headless
// View.toSVG, no browser, no canvas).
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export type Row = Record<string, string | number>;

export interface LineChart {
  readonly title: string;
  readonly data: readonly Row[];
  readonly x: string;
  readonly y: string;
  readonly series: string;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly logY?: boolean;
  readonly percentY?: boolean;
  /** Points drawn on top, e.g. the paper's own figure. */
  readonly marks?: readonly Row[];
}

const WIDTH = 460;
const HEIGHT = 280;

export function lineSpec(c: LineChart): TopLevelSpec {
  const y = { field: c.y, type: "quantitative", title: c.yTitle, scale: c.logY ? { type: "log" } : { zero: false }, axis: c.percentY ? { format: ".0%" } : c.logY ? { format: "~g" } : {} } as const;
  const x = { field: c.x, type: "quantitative", title: c.xTitle, scale: { zero: false } } as const;
  const layers: object[] = [
    { data: { values: c.data }, mark: { type: "line", point: true }, encoding: { x, y, color: { field: c.series, type: "nominal", title: null } } },
  ];
  if (c.marks && c.marks.length > 0) {
    layers.push({
      data: { values: c.marks },
      mark: { type: "point", shape: "diamond", size: 120, filled: true, color: "black" },
      encoding: { x: { field: c.x, type: "quantitative" }, y: { field: c.y, type: "quantitative" }, tooltip: { field: "label" } },
    });
    layers.push({
      data: { values: c.marks },
      mark: { type: "text", align: "left", dx: 8, dy: -8, fontSize: 11 },
      encoding: { x: { field: c.x, type: "quantitative" }, y: { field: c.y, type: "quantitative" }, text: { field: "label" } },
    });
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: c.title,
    width: WIDTH,
    height: HEIGHT,
    layer: layers,
    config: { font: "sans-serif", legend: { orient: "bottom", columns: 2, labelLimit: 420 } },
  } as TopLevelSpec;
}

export interface BarChart {
  readonly title: string;
  readonly data: readonly Row[];
  readonly category: string;
  readonly value: string;
  readonly group: string;
  readonly categoryTitle: string;
  readonly valueTitle: string;
  readonly logValue?: boolean;
}

export function barSpec(c: BarChart): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: c.title,
    width: WIDTH,
    height: HEIGHT,
    data: { values: c.data as Row[] },
    mark: "bar",
    encoding: {
      x: { field: c.category, type: "nominal", title: c.categoryTitle, sort: null, axis: { labelAngle: 0 } },
      xOffset: { field: c.group, type: "nominal", sort: null },
      y: { field: c.value, type: "quantitative", title: c.valueTitle, scale: c.logValue ? { type: "log" } : {}, axis: c.logValue ? { format: ".0e" } : {} },
      ...(c.logValue ? { y2: { datum: 1 } } : {}), // a log scale has no 0 for bars to start from
      color: { field: c.group, type: "nominal", title: null, sort: null },
    },
    config: { font: "sans-serif", legend: { orient: "bottom", labelLimit: 420 } },
  } as TopLevelSpec;
}

/** Renders a Vega-Lite specification to an SVG document. */
export async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
