// `efed analyze`: the whole command in its quick form, and clear errors for a bad --out.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { efed } from "../../helpers/processes.ts";
import { wrap } from "../../../node/analyze/summary.ts";

describe("efed analyze", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "efed-analyze-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("--quick writes the report and its figures and prints the summary table", async () => {
    const out = join(dir, "report");
    const r = await efed(["analyze", "--quick", "--out", out], {}, 120_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^§ +result +paper +recomputed \(paper's formulas\) +measured here +verdict/);
    for (const claim of [/Eq\. 5: reads for a 3×3/, /Table 2/, /Theorem 4\.1/, /53\.32%/, /58\.63%/, /Fig\. 7: CR 0\.7/, /Split softmax/]) assert.match(r.stdout, claim);
    const verdict = (row: RegExp) => {
      const i = r.stdout.split("\n").findIndex((l) => row.test(l));
      assert.ok(i >= 0, `no row ${row}`);
      return r.stdout.split("\n")[i].trimEnd().split(/ {2,}/).at(-1);
    };
    assert.equal(verdict(/^4\.1 +Eq\. 5/), "holds");
    assert.equal(verdict(/^4\.1 +Table 2/), "holds");
    assert.equal(verdict(/^4\.2 +768×2304/), "holds");
    assert.equal(verdict(/^4\.2 +GPT-2/), "cannot be");
    assert.equal(verdict(/^4\.2 +40–50% of singular values keep/), "does not follow");
    assert.equal(verdict(/^4\.3 +Fig\. 7: CR 0\.7/), "does not follow");
    assert.equal(verdict(/^4\.4 +Split softmax/), "does not follow");
    const md = readFileSync(join(out, "report.md"), "utf8");
    assert.match(md, /## §4\.1 Memory hierarchy/);
    assert.match(md, /!\[[^\]]*\]\(fig-7\.svg\)/);
    for (const f of ["fig-4.1-table2.svg", "fig-5.svg", "fig-6a.svg", "fig-6b.svg", "fig-7.svg", "fig-transfer.svg", "fig-layer-time.svg", "fig-softmax.svg"]) {
      assert.match(readFileSync(join(out, f), "utf8"), /^<svg[^>]*>[\s\S]*<\/svg>$/, f);
    }
    assert.equal(readFileSync(join(out, "summary.txt"), "utf8"), r.stdout);
  });

  it("an --out that cannot be written fails at once with one line", async () => {
    const file = join(dir, "a-file");
    writeFileSync(file, "x");
    for (const out of [file, join(file, "sub")]) {
      const r = await efed(["analyze", "--quick", "--out", out]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^efed: cannot write the report to ${out}: (it is a file, not a directory|ENOTDIR)\\n$`));
    }
  });

  it("a model that cannot be read fails with one line, before any work", async () => {
    const r = await efed(["analyze", "--quick", "--out", join(dir, "x"), "--model", join(dir, "none.gguf")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^efed: cannot read .*none\.gguf: ENOENT\n$/);
  });

  it("wraps table cells at spaces", () => {
    assert.deepEqual(wrap("aa bb cc", 5), ["aa bb", "cc"]);
    assert.deepEqual(wrap("abcdefg", 3), ["abcdefg"]);
  });
});
