/** kernel_info_reply content: the Python that runs the cells (path and version), and where to get help. */
import type { PythonInfo } from "../jobs/python-check";
import type { KernelInfoReply } from "../protocol/messages";
import { PROTOCOL_VERSION } from "../protocol/messages";
import { VERSION } from "../version";
import type { CellEnvironment } from "./cell-environment";
import type { SessionEnvironment } from "./environment";

/** The cells' Python as kernel_info tells it: known (path, version), or why not yet. */
export type KernelPython = { info: PythonInfo; source: string } | { unknown: string };

/** The Python of an environment for kernel_info: known, asked (within `waitMs`), or why not. */
export async function kernelPythonOf(
  env: Pick<SessionEnvironment, "python" | "mayProbe">,
  { setup, source }: CellEnvironment,
  waitMs: number,
): Promise<KernelPython> {
  const known = env.python.peek(setup);
  if (known) return { info: known, source };
  if (!env.mayProbe()) return { unknown: "asked at the first cell: the cluster connection is not open yet" };
  const info = await withinMs(env.python.check(setup), waitMs, undefined);
  return info ? { info, source } : { unknown: "not known yet: the first cell asks and says" };
}

/** `p`'s value, or `fallback` when it fails or takes longer than `ms`. */
export function withinMs<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  return Promise.race([p.catch(() => fallback), late]).finally(() => clearTimeout(timer));
}

export function kernelInfo(python: KernelPython, backend: string): KernelInfoReply {
  const pythonVersion = "info" in python ? python.info.version : "3";
  const major = pythonVersion.split(".")[0] ?? "3";
  const which =
    "info" in python
      ? `cells run Python ${python.info.version} · ${python.info.path} (${python.source})`
      : `cells run Python 3 (${python.unknown})`;
  return {
    status: "ok",
    protocol_version: PROTOCOL_VERSION,
    implementation: "alpine-kernel",
    implementation_version: VERSION,
    language_info: {
      name: "python",
      version: pythonVersion,
      mimetype: "text/x-python",
      file_extension: ".py",
      pygments_lexer: `ipython${major}`,
      codemirror_mode: { name: "ipython", version: Number(major) || 3 },
      nbconvert_exporter: "python",
    },
    banner:
      `alpine-kernel ${VERSION}: every cell runs as a job (${backend} backend); ${which}.\n` +
      "Magics: %slurm (defaults), %%slurm (this cell's resources), %squeue, %scancel, %sacct. Try %slurm? for help.",
    help_links: [
      {
        text: "Alpine documentation",
        url: "https://curc.readthedocs.io/en/latest/clusters/alpine/index.html",
      },
      {
        text: "Running jobs on Alpine",
        url: "https://curc.readthedocs.io/en/latest/running-jobs/running-apps-with-jobs.html",
      },
      { text: "Slurm sbatch options", url: "https://slurm.schedmd.com/sbatch.html" },
      { text: "alpine-kernel", url: "https://github.com/alpine-kernel/alpine-kernel#readme" },
    ],
    debugger: false,
  };
}
