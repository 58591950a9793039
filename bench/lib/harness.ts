/** Shared bench plumbing: isolated directories, the CLI, statistics and the printed table. */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(__dirname, "..", "..", "..");
export const CLI = join(ROOT, "dist", "cli", "main.js");

export function isolatedEnv(configYaml: string): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), "ak-bench-"));
  writeFileSync(join(dir, "config.yaml"), configYaml);
  const env = {
    ...process.env,
    ALPINE_KERNEL_CONFIG: join(dir, "config.yaml"),
    ALPINE_KERNEL_DATA_DIR: join(dir, "data"),
    ALPINE_KERNEL_RUNTIME_DIR: join(dir, "runtime"),
    JUPYTER_DATA_DIR: join(dir, "jupyter"),
  };
  return { dir, env };
}

export function cli(env: NodeJS.ProcessEnv, ...args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: "utf8", timeout: 60_000 });
  return r.stdout + r.stderr;
}

export function spawnCli(env: NodeJS.ProcessEnv, args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    env: { ...env, JPY_PARENT_PID: String(process.pid) },
    stdio: ["ignore", "ignore", "pipe"],
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export interface Row {
  name: string;
  samples: number[];
}

/** Prints median/p90 per row and the ratio of each median to the baseline's. */
export function report(title: string, baseline: Row, rows: Row[]): void {
  const base = median(baseline.samples);
  console.log(`\n${title}`);
  console.log("| case | n | median ms | p90 ms | ratio to baseline |");
  console.log("|---|---|---|---|---|");
  for (const r of [baseline, ...rows]) {
    const m = median(r.samples);
    console.log(
      `| ${r.name} | ${r.samples.length} | ${m.toFixed(1)} | ${percentile(r.samples, 90).toFixed(1)} | ${(m / base).toFixed(2)}× |`,
    );
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
