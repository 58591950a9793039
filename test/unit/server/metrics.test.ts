/** Prometheus' text format: HELP and TYPE lines, labels escaped, one sample a line, a final newline. */
import { renderMetrics } from "../../../src/server/metrics";

test("metrics render in the exposition format, label values escaped", () => {
  const text = renderMetrics([
    { name: "a_total", help: "Things.\nMore", type: "counter", samples: [[{ command: 'sq"ue\\ue\n' }, 3]] },
    { name: "b", help: "Gauge.", type: "gauge", samples: [[{}, Number.NaN]] },
  ]);
  expect(text).toBe(
    [
      "# HELP a_total Things.\\nMore",
      "# TYPE a_total counter",
      'a_total{command="sq\\"ue\\\\ue\\n"} 3',
      "# HELP b Gauge.",
      "# TYPE b gauge",
      "b 0",
      "",
    ].join("\n"),
  );
});
