/** Small tables (%squeue, %sacct, %slurm) as aligned text and as HTML. */
import { renderTable, tableHtml, tableText, type Table } from "../../../src/session/table";

const jobs: Table = {
  headers: ["JOBID", "STATE", "NAME"],
  rows: [
    ["24", "RUNNING", "cell 7: plot"],
    ["27_[1-3]", "PENDING", ""],
  ],
};

describe("tableText", () => {
  const cases: [string, Table, string][] = [
    [
      "columns as wide as their widest cell, two spaces apart, no trailing blanks",
      jobs,
      ["JOBID     STATE    NAME", "24        RUNNING  cell 7: plot", "27_[1-3]  PENDING"].join("\n"),
    ],
    ["headers only", { headers: ["A", "BB"], rows: [] }, "A  BB"],
    [
      "a header wider than its cells",
      { headers: ["PARTITION", "X"], rows: [["a", "1"]] },
      "PARTITION  X\na          1",
    ],
    ["a short row", { headers: ["A", "B"], rows: [["1"]] }, "A  B\n1"],
  ];
  test.each(cases)("%s", (_n, t, text) => {
    expect(tableText(t)).toBe(text);
  });
});

describe("tableHtml", () => {
  test("one th per header and one td per cell, all escaped", () => {
    const html = tableHtml({ headers: ["<h>"], rows: [[`a & "b"`]] });
    expect(html).toBe(
      '<table class="alpine-kernel-table"><thead><tr><th style="text-align:left">&lt;h&gt;</th></tr></thead>' +
        '<tbody><tr><td style="text-align:left">a &amp; &quot;b&quot;</td></tr></tbody></table>',
    );
  });
});

describe("renderTable", () => {
  const cases: [string, Table, string, string, boolean][] = [
    [
      "rows under their caption",
      jobs,
      "2 jobs in this notebook",
      `2 jobs in this notebook\n${tableText(jobs)}`,
      true,
    ],
    ["no rows: the caption alone", { headers: jobs.headers, rows: [] }, "no jobs yet", "no jobs yet", false],
  ];
  test.each(cases)("%s", (_n, t, caption, text, hasTable) => {
    const b = renderTable(t, caption);
    expect(b["text/plain"]).toBe(text);
    expect(b["text/html"]!.startsWith(`<div style="font-family:monospace">${caption}</div>`)).toBe(true);
    expect(b["text/html"]!.includes("<table")).toBe(hasTable);
  });

  test("the caption is escaped in HTML", () => {
    expect(renderTable({ headers: [], rows: [] }, "a<b")["text/html"]).toBe(
      '<div style="font-family:monospace">a&lt;b</div>',
    );
  });
});
