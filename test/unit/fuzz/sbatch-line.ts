/**
 * How sbatch reads the arguments of one `#SBATCH` line (`_get_argument` in Slurm's
 * src/sbatch/opt.c, 22.05): words split at C-locale white space; `\` takes the next character as
 * is; '...' and "..." group (a backslash escapes inside them too); an unquoted `#` ends the line;
 * an unmatched quote is fatal. A model, to check what the job script's lines mean to sbatch
 * without running it for every fuzzed value; checked against real sbatch in
 * test/integration/fuzz/job-script-shell.fuzz.test.ts.
 */
const C_SPACE = new Set([" ", "\t", "\n", "\v", "\f", "\r"]);

export function sbatchArguments(line: string): string[] {
  if (!line.startsWith("#SBATCH")) throw new Error(`not an #SBATCH line: ${line}`);
  const args: string[] = [];
  let i = "#SBATCH".length;
  for (;;) {
    while (i < line.length && C_SPACE.has(line[i]!)) i++;
    if (i >= line.length) return args;
    let arg = "";
    let quote: string | undefined;
    let escaped = false;
    for (; i < line.length && (quote || !C_SPACE.has(line[i]!)); i++) {
      const c = line[i]!;
      if (escaped) escaped = false;
      else if (c === "\\") {
        escaped = true;
        continue;
      } else if (quote) {
        if (c === quote) {
          quote = undefined;
          continue;
        }
      } else if (c === '"' || c === "'") {
        quote = c;
        continue;
      } else if (c === "#") {
        if (arg) args.push(arg);
        return args;
      }
      arg += c;
    }
    if (quote) throw new Error(`sbatch: unmatched ${quote} in ${line}`);
    if (arg) args.push(arg);
  }
}
