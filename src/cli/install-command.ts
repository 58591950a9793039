/** `alpine-kernel install [--profile NAME]`: a kernelspec, checked against the configuration's profiles. */
import { loadConfig } from "../config/config";
import { InputError } from "../errors";
import {
  installKernelSpec,
  profileDisplayName,
  profileKernelName,
  type InstallScope,
} from "../kernel/kernelspec";

export function installCommand(opts: {
  scope: InstallScope;
  name?: string;
  displayName?: string;
  profile?: string;
}): string {
  if (opts.profile !== undefined) {
    // A kernel whose profile the server does not know would refuse to start: say so now.
    const profiles = loadConfig().slurm.profiles;
    if (!Object.hasOwn(profiles, opts.profile)) {
      const known = Object.keys(profiles);
      throw new InputError(
        "NO_SUCH_PROFILE",
        `no resource profile '${opts.profile}' in your configuration (${known.length ? `profiles: ${known.join(", ")}` : "add one under slurm.profiles, or set cluster_profile: alpine"})`,
      );
    }
  }
  const name = opts.name ?? (opts.profile ? profileKernelName(opts.profile) : "alpine");
  const displayName =
    opts.displayName ?? (opts.profile ? profileDisplayName(opts.profile) : "Python (Alpine)");
  const dir = installKernelSpec({ scope: opts.scope, name, displayName, profile: opts.profile });
  return `Installed kernelspec '${name}' ("${displayName}") in ${dir}${
    opts.profile ? `\nIts cells start from the resource profile '${opts.profile}' (slurm.profiles).` : ""
  }`;
}
