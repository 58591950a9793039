/** The cell size limit counts UTF-8 bytes, as the code is stored and sent. */
import { codeTooLarge } from "../../../src/session/code-limit";
import { maxMessageBytes } from "../../../src/protocol/limits";

test("code up to the limit passes; one byte over is refused with the sizes and the key to change", () => {
  expect(codeTooLarge("x".repeat(1 << 20), 1)).toBeUndefined();
  const err = codeTooLarge("x".repeat((1 << 20) + 1), 1);
  expect(err?.code).toBe("CELL_TOO_LARGE");
  expect(err?.message).toBe(
    "this cell's code is 1.0 MiB, over the limit of 1 MiB (server.max_cell_code_mib): keep data out of the code — save it to a file and read the file in the cell",
  );
});

test("bytes, not characters: 400,000 three-byte characters are 1.1 MiB", () => {
  expect(codeTooLarge("€".repeat(400_000), 1)?.message).toMatch(/^this cell's code is 1\.1 MiB/);
  expect(codeTooLarge("€".repeat(300_000), 1)).toBeUndefined();
});

test("a message carrying the largest cell fits the frame limit in the worst JSON escaping", () => {
  const code = "\u0001".repeat(1 << 20); // JSON writes each as \u0001: six bytes
  const frame = Buffer.byteLength(JSON.stringify({ header: {}, content: { code, silent: false } }));
  expect(frame).toBeLessThan(maxMessageBytes(1));
});
