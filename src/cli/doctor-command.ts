/** `alpine-kernel doctor [--submit]`: one line per check; exit status 1 when any fails. */
import { formatResult, runDoctor } from "../setup/doctor";
import { TerminalPrompter } from "./terminal-prompt";

export async function doctorCommand(opts: { submit: boolean }): Promise<number> {
  const results = await runDoctor(
    opts,
    new TerminalPrompter(),
    (r) => console.log(formatResult(r)),
    (line) => process.stderr.write(`${line}\n`),
  );
  const failed = results.filter((r) => r.verdict === "fail");
  console.log(
    failed.length
      ? `\n${failed.length} check(s) failed: ${failed.map((r) => r.name).join(", ")}. Fix them as the → lines say, then run \`alpine-kernel doctor\` again.`
      : `\nAll ${results.filter((r) => r.verdict === "ok").length} checks passed.${opts.submit ? "" : " `alpine-kernel doctor --submit` also runs a test job."}`,
  );
  return failed.length ? 1 : 0;
}
