/** Jupyter messages for the fuzzers: headers and contents of the right and the wrong shapes. */
import fc from "fast-check";

/** The requests a kernel answers and keeps running after (no shutdown, no interrupt). */
export const ANSWERED_REQUESTS = [
  "execute_request",
  "complete_request",
  "inspect_request",
  "history_request",
  "is_complete_request",
  "kernel_info_request",
  "comm_info_request",
  "input_reply",
] as const;

/**
 * A header, any of whose fields may be missing or of the wrong type, for one of `types` or any
 * string; and a content that is any JSON, or nearly right for a request (code that runs quickly).
 */
export function messageParts(types: readonly string[]): {
  header: fc.Arbitrary<Record<string, unknown>>;
  content: fc.Arbitrary<unknown>;
} {
  const header = fc.record(
    {
      msg_id: fc.oneof(fc.uuid(), fc.string(), fc.integer()),
      session: fc.string(),
      username: fc.string(),
      date: fc.string(),
      msg_type: fc.oneof(fc.constantFrom(...types), fc.string()),
      version: fc.constantFrom("5.3", "5.0", "x"),
    },
    { requiredKeys: [] },
  );
  const content = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.record(
      {
        code: fc.oneof(
          fc.constantFrom("1", "x", "print(", "%squeue", "%%slurm --mem", "#SBATCH -p"),
          fc.string(),
          fc.integer(),
          fc.constant(null),
        ),
        cursor_pos: fc.oneof(fc.integer(), fc.string()),
        silent: fc.oneof(fc.boolean(), fc.string()),
        store_history: fc.boolean(),
        allow_stdin: fc.boolean(),
        hist_access_type: fc.constantFrom("tail", "range", "search", "x"),
        pattern: fc.string(),
        n: fc.oneof(fc.integer({ min: -5, max: 50 }), fc.string()),
        start: fc.integer(),
        stop: fc.integer(),
        restart: fc.oneof(fc.boolean(), fc.string()),
        value: fc.oneof(fc.string(), fc.integer()),
      },
      { requiredKeys: [] },
    ),
  );
  return { header, content };
}
