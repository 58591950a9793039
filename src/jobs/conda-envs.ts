/**
 * The conda environments a user has on the cluster (`conda env list --json` after the modules that
 * give conda): listing is cheap, so it runs on the login node; building never does (env-build.ts).
 */
import { posix } from "node:path";
import type { Transport } from "../cluster/transport";
import { shellQuote } from "../cluster/transport";
import { ClusterError, errorMessage } from "../errors";

export interface CondaEnv {
  name: string;
  path: string;
}

/** `conda env list --json` (pretty-printed by real conda, one line by the test cluster's) → environments. Pure. */
export function parseCondaEnvList(stdout: string): CondaEnv[] {
  const start = stdout.indexOf("{");
  const end = stdout.lastIndexOf("}");
  let parsed: unknown;
  try {
    parsed = start >= 0 && end > start ? JSON.parse(stdout.slice(start, end + 1)) : undefined;
  } catch {
    parsed = undefined;
  }
  const envs = (parsed as { envs?: unknown } | undefined)?.envs;
  if (!Array.isArray(envs) || !envs.every((e) => typeof e === "string"))
    throw new ClusterError(
      "ENVIRONMENT_MISSING",
      `conda env list --json answered something else: ${JSON.stringify(stdout.trim().slice(0, 200))}`,
    );
  return envs.map((path) => ({ name: posix.basename(path), path }));
}

/** The user's conda environments; a failure says which step failed (the module, or conda). */
export async function listCondaEnvs(transport: Transport, modules: readonly string[]): Promise<CondaEnv[]> {
  const script = [
    ...modules.map((m) => `module load ${shellQuote(m)} || exit 97`),
    "conda env list --json",
  ].join("\n");
  let out;
  try {
    out = await transport.run(["bash", ...(modules.length ? ["-l"] : []), "-c", script], {
      timeoutMs: 120_000,
      allowFailure: true,
    });
  } catch (err) {
    if (err instanceof ClusterError && err.code !== "COMMAND_FAILED") throw err;
    throw new ClusterError("ENVIRONMENT_MISSING", `cannot list conda environments: ${errorMessage(err)}`);
  }
  if (out.code === 97)
    throw new ClusterError(
      "ENVIRONMENT_MISSING",
      `module load ${modules.join(" ")} failed on the cluster (${out.stderr.trim().split("\n").pop() ?? ""}): check environment.modules`,
    );
  if (out.code !== 0)
    throw new ClusterError(
      "ENVIRONMENT_MISSING",
      `conda env list failed (exit ${out.code}): ${out.stderr.trim().split("\n").slice(-3).join(" ")}${modules.length ? "" : " — is conda on the PATH? environment.modules may need a module (miniforge on Alpine)"}`,
    );
  return parseCondaEnvList(out.stdout);
}
