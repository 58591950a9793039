/** doctor's check of the work directory: it can be created and written, has room, and is not on a small quota. */
import { randomBytes } from "node:crypto";
import { posix } from "node:path";
import { errorMessage } from "../errors";
import type { ClusterSession } from "./cluster-session";
import type { CheckResult } from "./doctor";

/** Less free space than this fails the check: a day of cells' output and namespaces would not fit. */
const MIN_FREE_KB = 1024 * 1024;

const NAME = "work directory";
const FIX =
  'set work_dir to a directory of your own on a large file system (on Alpine: "/scratch/alpine/$USER/alpine-kernel")';

/** `df -Pk DIR` → free kilobytes (the 4th column of its one row), undefined when unreadable. */
export function freeKilobytes(dfOutput: string): number | undefined {
  const row = dfOutput.trim().split("\n")[1];
  const avail = row?.trim().split(/\s+/)[3];
  return avail && /^\d+$/.test(avail) ? Number(avail) : undefined;
}

export async function checkWorkDir(cluster: ClusterSession): Promise<CheckResult> {
  const { transport, config } = cluster;
  const dir = await transport.resolvePath(config.work_dir);
  const fail = (detail: string): CheckResult => ({ name: NAME, verdict: "fail", detail, fix: FIX });
  try {
    await transport.mkdir(dir);
    const probe = posix.join(dir, `.doctor-${randomBytes(4).toString("hex")}`);
    await transport.writeFile(probe, "alpine-kernel doctor\n", 0o600);
    await transport.remove(probe);
  } catch (err) {
    return fail(`${dir} cannot be created or written: ${errorMessage(err)}`);
  }
  // Alpine's /home has a 2 GB quota: a site profile knows job output does not belong there.
  const home = await transport.resolvePath("~");
  if (config.profile && (dir === home || dir.startsWith(`${home}/`)))
    return fail(
      `${dir} is in your home directory, which has a small quota on Alpine (2 GB): job output would fill it`,
    );
  const df = await transport.run(["df", "-Pk", dir], { timeoutMs: 30_000, allowFailure: true });
  const free = freeKilobytes(df.stdout);
  if (free !== undefined && free < MIN_FREE_KB)
    return fail(`${dir} has only ${(free / 1024).toFixed(0)} MB free`);
  return {
    name: NAME,
    verdict: "ok",
    detail: `${dir} is writable${free !== undefined ? ` (${(free / 1024 ** 2).toFixed(1)} GB free)` : ""}`,
  };
}
