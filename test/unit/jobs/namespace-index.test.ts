/** The namespace store's index as the server reads it: checked, never trusted for paths. */
import { parseNamespaceIndex, storeBytes, NAMESPACE_FORMAT } from "../../../src/jobs/namespace-index";
import { whosBundle, whosLiveBundle } from "../../../src/session/namespace-magics";

const INDEX = {
  format: NAMESPACE_FORMAT,
  generation: 4,
  names: {
    np: { module: "numpy", type: "module" },
    big: { record: "r-000003-aa", type: "ndarray", info: "1000×1000 float64", bytes: 8_000_120 },
    shared: { record: "r-000004-bb", type: "list", info: "len 2", bytes: 20 },
    alias: { record: "r-000004-bb", type: "list", info: "len 2", bytes: 20 },
  },
  records: {
    "r-000003-aa": { file: "r-000003-aa.pkl", names: ["big"], buffers: [["b-000003-cc.bin", 0, 8_000_000]] },
    "r-000004-bb": { file: "r-000004-bb.pkl", names: ["shared", "alias"], buffers: [] },
  },
  files: { "r-000003-aa.pkl": 120, "b-000003-cc.bin": 8_000_000, "r-000004-bb.pkl": 25 },
  sources: {},
};

test("a runner's index parses; the store's size is the sum of its files", () => {
  const index = parseNamespaceIndex(JSON.stringify(INDEX), "/s/namespace/index.json");
  expect(index.names.big).toMatchObject({ type: "ndarray", bytes: 8_000_120 });
  expect(index.records["r-000003-aa"]!.buffers).toEqual([["b-000003-cc.bin", 0, 8_000_000]]);
  expect(storeBytes(index)).toBe(8_000_145);
});

describe("what is refused, with where and what", () => {
  const cases: [string, string, RegExp][] = [
    ["not JSON", "{oops", /^\/s\/index\.json is not JSON: /],
    ["another format", JSON.stringify({ ...INDEX, format: "x" }), /format: /],
    [
      "a file name that is a path (never linked or read by the server)",
      JSON.stringify({ ...INDEX, files: { "../../etc/passwd": 1 } }),
      /files\.\.\.\/\.\.\/etc\/passwd: Invalid key in record/,
    ],
    ["names missing", JSON.stringify({ ...INDEX, names: undefined }), /names: /],
  ];
  test.each(cases)("%s", (_what, raw, message) => {
    expect(() => parseNamespaceIndex(raw, "/s/index.json")).toThrow(message);
    try {
      parseNamespaceIndex(raw, "/s/index.json");
    } catch (err) {
      expect(err).toMatchObject({ code: "BAD_NAMESPACE_INDEX" });
    }
  });
});

test("%whos: every name with its type, size, data and where it is stored, from the index alone", () => {
  const index = parseNamespaceIndex(JSON.stringify(INDEX), "i");
  const bundle = whosBundle(index, "/scratch/u/s1/namespace", []);
  expect(bundle!["text/plain"]).toBe(
    [
      "4 names, 7.6 MB in /scratch/u/s1/namespace (listed from the store's index: nothing was loaded)",
      "Variable  Type     Size    Data/Info          Stored",
      "alias     list     20 B    len 2              r-000004-bb.pkl + with shared (shared objects)",
      "big       ndarray  7.6 MB  1000×1000 float64  r-000003-aa.pkl + 1 buffer file, memory-mapped",
      "np        module   —       import numpy       by name (imported when used)",
      "shared    list     20 B    len 2              r-000004-bb.pkl + with alias (shared objects)",
    ].join("\n"),
  );
  expect(bundle!["text/html"]).toContain('<td style="text-align:left">big</td>');
});

test("%whos TYPE lists only names of those types; none at all is undefined", () => {
  const index = parseNamespaceIndex(JSON.stringify(INDEX), "i");
  expect(whosBundle(index, "/s", ["ndarray"])!["text/plain"]).toMatch(/^1 of 4 names, /);
  expect(whosBundle(index, "/s", ["DataFrame"])).toBeUndefined();
});

test("%whos inside a held allocation: the live names, and whether the store has a (maybe older) copy", () => {
  const index = parseNamespaceIndex(JSON.stringify(INDEX), "i");
  const live = new Map([
    ["big", "ndarray"],
    ["np", "module"],
    ["shared", "dict"],
    ["model", "Net"],
  ]);
  const bundle = whosLiveBundle(live, index, "4521", []);
  expect(bundle!["text/plain"]).toBe(
    [
      "4 names held in allocation 4521's Python (sizes are known only for what the store saved; nothing was loaded)",
      "Variable  Type     Held in",
      "big       ndarray  memory; saved copy 7.6 MB, maybe older",
      "model     Net      memory only",
      "np        module   memory; saved copy by name, maybe older",
      "shared    dict     memory; the saved copy is another value (list)",
    ].join("\n"),
  );
  expect(whosLiveBundle(live, undefined, "4521", ["Net"])!["text/plain"]).toMatch(
    /^1 of 4 names held in allocation 4521.s Python[^\n]*\nVariable +Type +Held in\nmodel +Net +memory only$/,
  );
  expect(whosLiveBundle(new Map(), index, "4521", [])).toBeUndefined();
});
