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
        .option("labextension", {
          type: "boolean",
          default: true,
          describe:
            "also install the JupyterLab extension (the Alpine jobs panel); --no-labextension skips it",
        })
        .conflicts("user", ["sys-prefix", "prefix"]),
    async (argv) => {
      const { installCommand } = await import("./install-command");
      const { installLabextension } = await import("../kernel/labextension");
      try {
        console.log(
          installCommand({
            scope: scopeOf(argv),
            name: argv.name,
            displayName: argv["display-name"],
            profile: argv.profile,
          }),
        );
        if (argv.labextension)
          console.log(
            `Installed the JupyterLab extension (Alpine jobs panel) in ${installLabextension(scopeOf(argv))}; reload JupyterLab to see it`,
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
      const { kernelsDir, listKernelSpecs, uninstallKernelSpec } = await import("../kernel/kernelspec");
      const { uninstallLabextension } = await import("../kernel/labextension");
      try {
        const scope = scopeOf(argv);
        console.log(`Removed ${uninstallKernelSpec({ scope, name: argv.name ?? "alpine" })}`);
        const left = listKernelSpecs([kernelsDir(scope)]).map((s) => s.name);
        const removed = uninstallLabextension(scope, left);
        if (removed) console.log(`Removed the JupyterLab extension ${removed}`);
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
    "files [notebook]",
    "what a notebook's directory on the cluster holds (where its cells run; %upload/%download move files)",
    (y) =>
      y
        .positional("notebook", {
          type: "string",
          describe: "the notebook's name (without it: every notebook's directory)",
        })
        .option("timeout", {
          type: "number",
          default: 300,
          describe: "give up logging in after this many seconds",
        }),
    async (argv) => {
      const { filesCommand } = await import("./files-command");
      process.exit(await filesCommand({ notebook: argv.notebook, timeoutSeconds: argv.timeout }).catch(fail));
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
    "open",
    "the queue page: every cell job of every notebook, live (prints its address; opens it on a desktop)",
    (y) =>
      y.option("print", {
        type: "boolean",
        default: false,
        describe: "only print the address, open nothing",
      }),
    async (argv) => {
      const { openCommand } = await import("./open-command");
      process.exit(await openCommand({ print: argv.print }).catch(fail));
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
  .command(
    "init",
    "write your configuration: the cluster, your account, the conda environment (asks, or takes flags)",
    (y) =>
      y
        .option("host", {
          type: "string",
          describe: 'login host or ~/.ssh/config alias, or "local" on Alpine itself',
        })
        .option("user", { type: "string", describe: "your username on the cluster" })
        .option("ssh-config", { type: "string", describe: "ssh config file (default ~/.ssh/config)" })
        .option("port", { type: "number", describe: "ssh port" })
        .option("account", { type: "string", describe: "the Slurm account to charge" })
        .option("env", { type: "string", describe: "the conda environment cells run in" })
        .option("create-env", { type: "boolean", describe: "build that environment now (a job on acompile)" })
        .option("env-file", {
          type: "string",
          describe: "environment file for --create-env (default ./environment.yml)",
        })
        .option("work-dir", {
          type: "string",
          describe: "the cells' files on the cluster (default /scratch/alpine/$USER/alpine-kernel)",
        })
        .option("accept-host-key", { type: "boolean", describe: "trust and record an unknown host key" })
        .option("force", { type: "boolean", describe: "replace an existing configuration (kept as .bak)" })
        .option("yes", {
          alias: "y",
          type: "boolean",
          describe: "take the suggested answer to every question not given as a flag",
        }),
    async (argv) => {
      const { initCommand } = await import("./init-command");
      process.exit(
        await initCommand({
          host: argv.host,
          user: argv.user,
          sshConfig: argv["ssh-config"],
          port: argv.port,
          account: argv.account,
          env: argv.env,
          createEnv: argv["create-env"],
          envFile: argv["env-file"],
          workDir: argv["work-dir"],
          acceptHostKey: argv["accept-host-key"],
          force: argv.force,
          yes: argv.yes,
        }).catch(fail),
      );
    },
  )
  .command(
    "doctor",
    "check every piece a notebook needs, each with the exact fix (exit status 1 when one fails)",
    (y) =>
      y.option("submit", {
        type: "boolean",
        default: false,
        describe: "also run a real test job and time it",
      }),
    async (argv) => {
      const { doctorCommand } = await import("./doctor-command");
      process.exit(await doctorCommand({ submit: argv.submit }).catch(fail));
    },
  )
  .command(
    "env <action>",
    "build the cells' conda environment as a Slurm job on the build partition (acompile), or list yours",
    (y) =>
      y
        .positional("action", { choices: ["create", "update", "list"] as const, demandOption: true })
        .option("file", {
          alias: "f",
          type: "string",
          describe: "environment file (default ./environment.yml, else alpine-kernel's)",
        })
        .option("name", {
          alias: "n",
          type: "string",
          describe: "environment name (default environment.conda_env)",
        })
        .option("partition", {
          type: "string",
          describe: "build partition (default environment.build_partition: acompile)",
        })
        .option("time", {
          type: "string",
          describe: "the build job's time limit (default environment.build_time)",
        }),
    async (argv) => {
      const { envBuildCommand, envListCommand } = await import("./env-command");
      if (argv.action === "list") process.exit(await envListCommand().catch(fail));
      process.exit(
        await envBuildCommand({
          action: argv.action,
          file: argv.file,
          name: argv.name,
          partition: argv.partition,
          time: argv.time,
        }).catch(fail),
      );
    },
  )
  .demandCommand(1, "name a command; see --help")
  .strict()
  .recommendCommands()
  .help()
  .parseAsync()
  .catch(fail);
