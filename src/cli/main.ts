#!/usr/bin/env node
/**
 * The alpine-kernel command line. Each command is a thin wrapper over a typed function; modules are
 * loaded lazily so that `alpine-kernel kernel` (launched by Jupyter for every notebook) starts fast.
 */
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { AlpineKernelError, errorMessage } from "../errors";

function fail(err: unknown): never {
  const known = err instanceof AlpineKernelError;
  process.stderr.write(`alpine-kernel: ${errorMessage(err)}\n`);
  if (!known && err instanceof Error && process.env.ALPINE_KERNEL_DEBUG)
    process.stderr.write(`${err.stack}\n`);
  process.exit(known ? 2 : 1);
}

type Scope = { user?: boolean; "sys-prefix"?: boolean; prefix?: string };

function scopeOf(argv: Scope): import("../kernel/kernelspec").InstallScope {
  if (argv.prefix) return { kind: "prefix", dir: argv.prefix };
  if (argv["sys-prefix"]) return { kind: "sys-prefix" };
  return { kind: "user" };
}

const scopeOptions = {
  user: { type: "boolean", describe: "install for this user (the default; honours JUPYTER_DATA_DIR)" },
  "sys-prefix": { type: "boolean", describe: "install into the Python environment that runs `jupyter`" },
  prefix: { type: "string", describe: "install into DIR/share/jupyter/kernels" },
  name: { type: "string", describe: "kernelspec name (default alpine, or alpine-PROFILE)" },
} as const;

void yargs(hideBin(process.argv))
  .scriptName("alpine-kernel")
  .usage(
    "$0 <command>\n\nRun every Jupyter cell as a Slurm job on Alpine (or any Slurm cluster); see README.md.",
  )
  .command(
    "kernel",
    "the Jupyter kernel (run by kernel.json; relays to your alpine-kernel server)",
    (y) =>
      y
        .option("f", {
          alias: "connection-file",
          type: "string",
          demandOption: true,
          describe: "connection file written by Jupyter",
        })
        .option("profile", { type: "string", describe: "resource profile the cells start from" }),
    async (argv) => {
      const { runBridge } = await import("../kernel/bridge");
      await runBridge(argv.f, argv.profile).catch(fail);
      process.exit(0);
    },
  )
  .command(
    "serve",
    "run the alpine-kernel server in the foreground (127.0.0.1, token required)",
    (y) =>
      y
        .option("port", { type: "number", default: 0, describe: "port (0 picks a free one)" })
        .option("idle-exit", {
          type: "boolean",
          default: false,
          describe: "exit when idle (server.idle_timeout_seconds)",
        })
        .option("log-file", { type: "string", describe: "write the log here instead of stderr" }),
    async (argv) => {
      const { serveCommand } = await import("./serve-command");
      await serveCommand({ port: argv.port, idleExit: argv["idle-exit"], logFile: argv["log-file"] }).catch(
        fail,
      );
    },
  )
  .command(
    "install",
    "install the 'Python (Alpine)' kernelspec where Jupyter finds it",
    (y) =>
      y
        .options(scopeOptions)
        .option("display-name", {
          type: "string",
          describe: 'default "Python (Alpine)", or "Python (Alpine · GPU)"',
        })
        .option("profile", {
          type: "string",
          describe:
            "a resource profile of your configuration (slurm.profiles): the kernel's cells start from it",
        })
        .conflicts("user", ["sys-prefix", "prefix"]),
    async (argv) => {
      const { installCommand } = await import("./install-command");
      try {
        console.log(
          installCommand({
            scope: scopeOf(argv),
            name: argv.name,
            displayName: argv["display-name"],
            profile: argv.profile,
          }),
        );
      } catch (err) {
        fail(err);
      }
    },
  )
  .command(
    "uninstall",
    "remove the kernelspec",
    (y) => y.options(scopeOptions),
    async (argv) => {
      const { uninstallKernelSpec } = await import("../kernel/kernelspec");
      try {
        console.log(`Removed ${uninstallKernelSpec({ scope: scopeOf(argv), name: argv.name ?? "alpine" })}`);
      } catch (err) {
        fail(err);
      }
    },
  )
  .command(
    "list",
    "list installed alpine-kernel kernelspecs",
    () => {},
    async () => {
      const { listKernelSpecs } = await import("../kernel/kernelspec");
      const specs = listKernelSpecs();
      if (!specs.length)
        console.log("No alpine-kernel kernelspec installed; run `alpine-kernel install --user`.");
      for (const s of specs)
        console.log(
          `${s.name.padEnd(16)} ${s.displayName.padEnd(24)} ${s.dir}${s.profile ? `  (--profile ${s.profile})` : ""}`,
        );
    },
  )
  .command(
    "run <notebook>",
    "execute a notebook headless through the server and write it with its outputs",
    (y) =>
      y
        .positional("notebook", { type: "string", demandOption: true })
        .option("o", {
          alias: "output",
          type: "string",
          describe: "where to write the executed notebook (default NAME.out.ipynb)",
        })
        .option("allow-errors", {
          type: "boolean",
          default: false,
          describe: "keep running after a failing cell",
        }),
    async (argv) => {
      const { runCommand } = await import("./run-command");
      const code = await runCommand({
        notebook: argv.notebook,
        output: argv.o,
        allowErrors: argv["allow-errors"],
      }).catch(fail);
      process.exit(code);
    },
  )
  .command(
    "demo",
    "run the example notebook on the local backend (no cluster needed)",
    (y) =>
      y.option("python", {
        type: "string",
        describe: "Python with numpy, pandas and matplotlib to run the cells",
      }),
    async (argv) => {
      const { demoCommand } = await import("./demo-command");
      process.exit(await demoCommand({ python: argv.python }).catch(fail));
    },
  )
  .command(
    "login",
    "connect the server to the cluster (answer password / Duo prompts here)",
    (y) => y.option("timeout", { type: "number", default: 300, describe: "give up after this many seconds" }),
    async (argv) => {
      const { loginCommand } = await import("./login-command");
      process.exit(await loginCommand({ timeoutSeconds: argv.timeout }).catch(fail));
    },
  )
  .command(
    "logout",
    "close the server's connection to the cluster",
    () => {},
    async () => {
      const { logoutCommand } = await import("./login-command");
      process.exit(await logoutCommand().catch(fail));
    },
  )
  .command(
    "status",
    "your server, its connection to the cluster, kernels and cell jobs",
    () => {},
    async () => {
      const { statusCommand } = await import("./status-command");
      process.exit(await statusCommand().catch(fail));
    },
  )
  .command(
    "stop",
    "stop your server (running cells keep running and are picked up by the next server)",
    () => {},
    async () => {
      const { stopCommand } = await import("./status-command");
      process.exit(await stopCommand().catch(fail));
    },
  )
  .demandCommand(1, "name a command; see --help")
  .strict()
  .recommendCommands()
  .help()
  .parseAsync()
  .catch(fail);
