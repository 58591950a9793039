/** `alpine-kernel init`: asks on this terminal (or takes the flags / defaults), then setup/init.ts. */
import { resolve } from "node:path";
import { configPath } from "../config/paths";
import { runInit, type Asker, type InitOptions } from "../setup/init";
import { buildOnCluster } from "./env-command";
import { askOnTerminal, TerminalPrompter } from "./terminal-prompt";

const say = (line: string) => process.stderr.write(`${line}\n`);

/** Questions on the terminal, each with its suggestion in brackets (Enter takes it). */
const terminalAsker: Asker = {
  async ask(question, suggested) {
    const answer = (await askOnTerminal(`${question}${suggested ? ` [${suggested}]` : ""}: `, false)).trim();
    return answer || suggested;
  },
  async confirm(question, suggested) {
    const answer = (await askOnTerminal(`${question} ${suggested ? "[Y/n]" : "[y/N]"} `, false)).trim();
    return answer ? /^y(es)?$/i.test(answer) : suggested;
  },
  say,
};

/** --yes: every question not given as a flag takes its suggestion. */
const defaultsAsker: Asker = {
  async ask(question, suggested) {
    say(`${question}: ${suggested} (--yes)`);
    return suggested;
  },
  async confirm(question, suggested) {
    say(`${question} ${suggested ? "yes" : "no"} (--yes)`);
    return suggested;
  },
  say,
};

/** Every question of init as a flag, and --yes for the ones not given. */
export type InitFlags = Omit<InitOptions, "configPath" | "build"> & { yes?: boolean };

export async function initCommand(flags: InitFlags): Promise<number> {
  const opts: InitOptions = {
    ...flags,
    ...(flags.sshConfig ? { sshConfig: resolve(flags.sshConfig) } : {}),
    ...(flags.envFile ? { envFile: resolve(flags.envFile) } : {}),
    configPath: configPath(),
    build: (cluster, name, file) => buildOnCluster(cluster, { action: "create", name, file }),
  };
  const path = await runInit(opts, flags.yes ? defaultsAsker : terminalAsker, new TerminalPrompter());
  console.log(`✓ wrote ${path}`);
  console.log(
    "Next: `alpine-kernel install --user` (the kernel in Jupyter), then `alpine-kernel doctor` (checks every piece).",
  );
  return 0;
}
