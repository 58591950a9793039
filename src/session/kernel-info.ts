/** kernel_info_reply content: Python as it runs in the cells' environment, and where to get help. */
import type { KernelInfoReply } from "../protocol/messages";
import { PROTOCOL_VERSION } from "../protocol/messages";
import { VERSION } from "../version";

export function kernelInfo(pythonVersion: string, backend: string): KernelInfoReply {
  const major = pythonVersion.split(".")[0] ?? "3";
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
      `alpine-kernel ${VERSION}: every cell runs as a job (${backend} backend), Python ${pythonVersion}.\n` +
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
