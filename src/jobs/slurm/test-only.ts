/**
 * `sbatch --test-only`: when and where Slurm would start a job, without creating one. Several
 * questions go in ONE command (one SSH round trip): a fixed bash loop runs `sbatch --test-only` once
 * per group of arguments, each group ended by `::`. The arguments travel as argv, never pasted into
 * the shell text. Pure apart from `runTestOnly`.
 */
import type { Transport } from "../../cluster/transport";

/**
 * The cluster's clock first (Slurm's times are its local time: the laptop's may differ), then
 * sbatch --test-only for each `::`-ended group of "$@", each answer followed by its status.
 */
const LOOP =
  'date +%Y-%m-%dT%H:%M:%S; args=(); for a in "$@"; do if [ "$a" = "::" ]; then sbatch --test-only "${args[@]}" 2>&1; echo "::status $?"; args=(); else args+=("$a"); fi; done';

export interface TestOnlyQuestion {
  /** Options in long form that override the script's own (`--time=0:30:00`). */
  overrides: readonly string[];
  scriptPath: string;
}

export type TestOnlyAnswer =
  | { ok: true; startsAt: string; partition: string; nodes: string; processors: number }
  | { ok: false; message: string };

export function testOnlyArgv(questions: readonly TestOnlyQuestion[]): string[] {
  const args = questions.flatMap((q) => [...q.overrides, q.scriptPath, "::"]);
  return ["bash", "-c", LOOP, "alpine-kernel-test-only", ...args];
}

// sbatch: Job 1704 to start at 2026-12-01T15:56:48 using 4 processors on nodes c3cpu-a1-u1-1 in partition acpu
const WILL_START = /Job \d+ to start at (\S+) using (\d+) processors on nodes (\S+) in partition (\S+)/;

export interface TestOnlyAnswers {
  /** The cluster's clock when asked, in the same spelling as `startsAt`. */
  clusterNow: string;
  answers: TestOnlyAnswer[];
}

/** One answer per question, in order; a missing one (the command was cut short) is an error answer. */
export function parseTestOnly(stdout: string, count: number): TestOnlyAnswers {
  const answers: TestOnlyAnswer[] = [];
  let text = "";
  const [first, ...rest] = stdout.split("\n");
  for (const line of rest) {
    if (!line.startsWith("::status ")) {
      text += `${line}\n`;
      continue;
    }
    const m = WILL_START.exec(text);
    answers.push(
      m
        ? { ok: true, startsAt: m[1]!, processors: Number(m[2]), nodes: m[3]!, partition: m[4]! }
        : {
            ok: false,
            message:
              text
                .trim()
                .split("\n")
                .map((l) => l.replace(/^sbatch: (error: )?/, ""))
                .join("; ") || "no answer",
          },
    );
    text = "";
  }
  while (answers.length < count) answers.push({ ok: false, message: "no answer" });
  return { clusterNow: (first ?? "").trim(), answers: answers.slice(0, count) };
}

export async function runTestOnly(
  transport: Transport,
  questions: readonly TestOnlyQuestion[],
): Promise<TestOnlyAnswers> {
  const { stdout } = await transport.run(testOnlyArgv(questions), {
    timeoutMs: 60_000,
    allowFailure: true,
  });
  return parseTestOnly(stdout, questions.length);
}
