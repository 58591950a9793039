/**
 * fast-check settings shared by the property tests and fuzzers: a fixed seed and a bounded count,
 * so the suite is deterministic and quick. A longer run (README "Fuzzing"):
 *
 *   FUZZ_RUNS=20000 npx jest --selectProjects unit --testPathPatterns fuzz
 *   FUZZ_SEED=$RANDOM FUZZ_RUNS=5000 ...   (another seed; a failure prints the seed and path to replay it)
 */
import type { Parameters } from "fast-check";

function envInt(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

/** Runs per property: 200 by default, FUZZ_RUNS to change it. */
export const FUZZ_RUNS = envInt("FUZZ_RUNS", 200);

export const FUZZ: Parameters<unknown> = {
  seed: envInt("FUZZ_SEED", 20_251_001),
  numRuns: FUZZ_RUNS,
  // A long run reports the smallest failing input rather than the first one found.
  endOnFailure: false,
};

/** For properties that are slow per run (real processes, sockets): a tenth of the count. */
export const FUZZ_SLOW: Parameters<unknown> = { ...FUZZ, numRuns: Math.max(10, Math.round(FUZZ_RUNS / 10)) };
