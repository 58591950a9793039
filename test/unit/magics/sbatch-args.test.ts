/** sbatch options of a magic line: sbatch's spellings accepted, everything else refused by name. */
import { KERNEL_OWNED_SBATCH, SBATCH_OPTIONS } from "../../../src/magics/registry";
import { mergeOptions, mergeSbatch, parseSlurmOptions } from "../../../src/magics/sbatch-args";
import { MagicError, type SbatchPair } from "../../../src/magics/types";

const words = (line: string): string[] => line.split(" ").filter(Boolean);

describe("parseSlurmOptions accepts sbatch's spellings, in long form", () => {
  test.each<[string, SbatchPair[]]>([
    ["--partition acpu", [["--partition", "acpu"]]],
    ["--partition=acpu", [["--partition", "acpu"]]],
    ["-p acpu", [["--partition", "acpu"]]],
    ["-pacpu", [["--partition", "acpu"]]],
    ["-p=acpu", [["--partition", "acpu"]]],
    ["-p acpu,amem", [["--partition", "acpu,amem"]]],
    ["-t1:00:00", [["--time", "1:00:00"]]],
    ["-t 30", [["--time", "30"]]],
    ["--time=1-00:00:00", [["--time", "1-00:00:00"]]],
    ["--time UNLIMITED", [["--time", "UNLIMITED"]]],
    ["--mem 8G", [["--mem", "8G"]]],
    ["--mem=500M", [["--mem", "500M"]]],
    ["--mem 0", [["--mem", "0"]]],
    ["--mem-per-cpu 3800M", [["--mem-per-cpu", "3800M"]]],
    ["-c 4", [["--cpus-per-task", "4"]]],
    ["-c4", [["--cpus-per-task", "4"]]],
    ["-n 2", [["--ntasks", "2"]]],
    ["-N 1-2", [["--nodes", "1-2"]]],
    ["--gres gpu:1", [["--gres", "gpu:1"]]],
    ["--gres=gpu:a100:1", [["--gres", "gpu:a100:1"]]],
    ["--gres=gpu", [["--gres", "gpu"]]],
    ["--gres=gpu:a100", [["--gres", "gpu:a100"]]],
    ["--gres=gpu:1,tmpfs:10", [["--gres", "gpu:1,tmpfs:10"]]],
    ["--gpus 2", [["--gpus", "2"]]],
    ["--gpus=a100:1", [["--gpus", "a100:1"]]],
    ["--gpus-per-node 1", [["--gpus-per-node", "1"]]],
    ["-q normal", [["--qos", "normal"]]],
    ["-A ucb-general", [["--account", "ucb-general"]]],
    ["-Aamc123_asc1", [["--account", "amc123_asc1"]]],
    ["-C a100", [["--constraint", "a100"]]],
    ["--exclusive", [["--exclusive"]]],
    ["--requeue", [["--requeue"]]],
    ["--mail-type END,FAIL", [["--mail-type", "END,FAIL"]]],
    ["--mail-type=all", [["--mail-type", "all"]]],
    ["--mail-user maya@colorado.edu", [["--mail-user", "maya@colorado.edu"]]],
    ["-J plot", [["--job-name", "plot"]]],
    ["--begin now+1hour", [["--begin", "now+1hour"]]],
    [
      "-p aa100 --gres gpu:1 --time 0:30:00",
      [
        ["--partition", "aa100"],
        ["--gres", "gpu:1"],
        ["--time", "0:30:00"],
      ],
    ],
    // a repeated option keeps its last value, where it first appeared (sbatch: the last wins)
    [
      "-p acpu -t 10 --partition amem",
      [
        ["--partition", "amem"],
        ["--time", "10"],
      ],
    ],
    ["", []],
  ])("%j", (line, sbatch) => {
    expect(parseSlurmOptions(words(line))).toEqual({ sbatch, detach: false });
  });

  test("a value with spaces (from a quoted word)", () => {
    expect(parseSlurmOptions(["--job-name", "cell 7: plot"]).sbatch).toEqual([
      ["--job-name", "cell 7: plot"],
    ]);
  });

  test("--detach and --profile set their own fields", () => {
    expect(parseSlurmOptions(words("--detach -p acpu --profile gpu-big"))).toEqual({
      sbatch: [["--partition", "acpu"]],
      detach: true,
      profile: "gpu-big",
    });
    expect(parseSlurmOptions(words("--profile=a --profile b"))).toEqual({
      sbatch: [],
      detach: false,
      profile: "b",
    });
  });

  test("every option of the registry is accepted in its long and short spelling", () => {
    for (const o of SBATCH_OPTIONS) {
      const value =
        {
          "--time": "10",
          "--mem": "1G",
          "--mem-per-cpu": "1G",
          "--gres": "gpu:1",
          "--mail-type": "END",
          "--array": "0-9%2",
          "--dependency": "afterok:4519",
        }[o.long] ?? "1";
      const expected = o.takesValue ? [[o.long, value]] : [[o.long]];
      expect(parseSlurmOptions(o.takesValue ? [o.long, value] : [o.long]).sbatch).toEqual(expected);
      if (o.short) expect(parseSlurmOptions([o.short, value]).sbatch).toEqual(expected);
    }
  });
});

describe("parseSlurmOptions refuses, naming what is wrong", () => {
  const list = "%%slurm? lists the options";
  test.each<[string[], string]>([
    // unknown options, with the closest known one
    [["--partion", "acpu"], `unknown option --partion in %%slurm — did you mean --partition? (${list})`],
    [["--partion=acpu"], `unknown option --partion in %%slurm — did you mean --partition? (${list})`],
    [["--memory=8G"], `unknown option --memory in %%slurm — did you mean --mem? (${list})`],
    [["--cpus", "4"], `unknown option --cpus in %%slurm — did you mean --cpus-per-task? (${list})`],
    [["--gpu", "1"], `unknown option --gpu in %%slurm — did you mean --gpus? (${list})`],
    [["--acount", "x"], `unknown option --acount in %%slurm — did you mean --account? (${list})`],
    [["--name", "x"], `unknown option --name in %%slurm — did you mean --job-name? (${list})`],
    [["--detatch"], `unknown option --detatch in %%slurm — did you mean --detach? (${list})`],
    [["--foo"], `unknown option --foo in %%slurm (${list})`],
    [["-P", "acpu"], `unknown option -P in %%slurm — did you mean -p (--partition)? (${list})`],
    [["-x"], `unknown option -x in %%slurm (${list})`],
    // real sbatch options that a cell cannot set
    [
      ["--nodelist", "c1"],
      "--nodelist is an sbatch option that %%slurm does not take; %%slurm? lists the options a cell may set",
    ],
    [["--ntasks-per-core=2"], "--ntasks-per-core is an sbatch option that %%slurm does not take"],
    // a long option with one dash (sbatch would read -partition as -p artition)
    [["-partition=acpu"], "-partition in %%slurm: long options take two dashes, --partition"],
    [["-mem", "8G"], "-mem in %%slurm: long options take two dashes, --mem"],
    // missing values
    [["--mem"], "--mem needs a value in %%slurm: memory per node, e.g. 8G or 500M"],
    [["--mem="], "--mem needs a value in %%slurm: memory per node, e.g. 8G or 500M"],
    [["--mem", "--time", "1:00"], "--mem needs a value in %%slurm"],
    [["-p"], "-p needs a value in %%slurm: partition (queue), e.g. acpu, aa100, amem"],
    [["--profile"], "--profile needs a value in %%slurm: named resource profile from your configuration"],
    // values given to flags
    [["--exclusive=user"], "--exclusive takes no value in %%slurm: write --exclusive alone"],
    [["--detach=yes"], "--detach takes no value in %%slurm: write --detach alone"],
    // words that are not options
    [["foo"], "unexpected 'foo' in %%slurm: options only"],
    [["--exclusive", "user"], "unexpected 'user' in %%slurm: options only"],
    [["-p", "acpu", "amem"], "unexpected 'amem' in %%slurm: options only"],
    [["-"], "unexpected '-' in %%slurm: options only"],
    [["--"], "unexpected '--' in %%slurm: options only"],
    // values sbatch cannot take
    [
      ["--job-name", "a\nb"],
      "--job-name value contains a line break: sbatch options must be plain text on one line",
    ],
    [["--begin=now\r"], "--begin value contains a line break"],
    [
      ["-J", "bell\u0007"],
      "--job-name value contains a control character (U+0007): sbatch options must be plain text on one line",
    ],
    [
      ["-J", "a|b"],
      "--job-name 'a|b' contains '|', which squeue and sacct print as their separator: use another character",
    ],
    // per-option values
    [["--time", "1:70:00"], "--time '1:70:00' is not a Slurm time: use MM, HH:MM:SS or D-HH:MM:SS"],
    [["-t1h"], "--time '1h' is not a Slurm time: use MM, HH:MM:SS or D-HH:MM:SS"],
    [
      ["--mem", "1.5G"],
      "--mem '1.5G' is not a memory size: use a whole number with K, M, G or T, e.g. 8G or 1536M",
    ],
    [["--mem-per-cpu=lots"], "--mem-per-cpu 'lots' is not a memory size"],
    [["-c", "0"], "--cpus-per-task '0' is not a number of CPUs: use a whole number from 1, e.g. -c 4"],
    [["-c", "two"], "--cpus-per-task 'two' is not a number of CPUs"],
    [["-n", "1.5"], "--ntasks '1.5' is not a number of tasks: use a whole number from 1, e.g. -n 4"],
    [["-N", "0"], "--nodes '0' is not a node count: use N or MIN-MAX, e.g. -N 1"],
    [
      ["--gres", "gpu:x:y"],
      "--gres 'gpu:x:y' is not a GPU request: use gpu:N or gpu:TYPE:N, e.g. gpu:1 or gpu:a100:1",
    ],
    [["--gres", "gpu:0"], "--gres 'gpu:0' is not a GPU request"],
    [["--gres", "gpu:1:2"], "--gres 'gpu:1:2' is not a GPU request"],
    [["--gres", "gpu:"], "--gres 'gpu:' is not a GPU request"],
    [["--gres", "2"], "--gres '2' is not a GRES request: use NAME[:TYPE][:N], e.g. gpu:1"],
    [["--gpus", "0"], "--gpus '0' is not a GPU count: use N or TYPE:N, e.g. 1 or a100:1"],
    [["--gpus", "a100"], "--gpus 'a100' is not a GPU count"],
    [["--gpus-per-node", "1:a100"], "--gpus-per-node '1:a100' is not a GPU count"],
    [
      ["--mail-type", "END,BEGINN"],
      "--mail-type 'BEGINN' is not a mail type — did you mean BEGIN? Use one or more of NONE, BEGIN, END, FAIL, REQUEUE, ALL,",
    ],
    [
      ["--mail-type", "sometimes"],
      "--mail-type 'sometimes' is not a mail type: use one or more of NONE, BEGIN,",
    ],
    [
      ["-p", "a b"],
      "--partition 'a b' is not a partition name: use a name like acpu, or several separated by commas",
    ],
    [["-p", "acpu,"], "--partition 'acpu,' is not a partition name"],
    [
      ["-A", "my account"],
      "--account 'my account' is not an account name: use letters, digits, '.', '_' and '-' only",
    ],
    [["-q", "gpu/normal"], "--qos 'gpu/normal' is not a QoS name"],
    [["--profile", "a b"], "--profile 'a b' is not a profile name"],
    // contradictions
    [
      ["--mem", "8G", "--mem-per-cpu", "2G"],
      "--mem and --mem-per-cpu together in %%slurm: sbatch takes only one of them; keep one",
    ],
  ])("%j", (tokens, message) => {
    expect(() => parseSlurmOptions(tokens)).toThrow(MagicError);
    expect(() => parseSlurmOptions(tokens)).toThrow(message);
  });

  test.each<[string, string]>([
    ["--output", "--output is set by the kernel: each cell's output streams into the notebook"],
    ["-o", "-o (--output) is set by the kernel: each cell's output streams into the notebook"],
    ["--error", "--error is set by the kernel: each cell's output streams into the notebook"],
    ["-e", "-e (--error) is set by the kernel"],
    ["--wrap", "--wrap is set by the kernel: the cell's code is the job"],
    ["--chdir", "--chdir is set by the kernel: every cell runs in the notebook's working directory"],
    ["-D", "-D (--chdir) is set by the kernel"],
    ["--parsable", "--parsable is set by the kernel: the kernel submits the job and reads its id itself"],
    ["--wait", "--wait is set by the kernel: the kernel follows the job while its output streams in"],
    ["-W", "-W (--wait) is set by the kernel"],
    [
      "--export",
      "--export is set by the kernel: the kernel passes the job the environment its cell runner needs",
    ],
    ["--input", "--input is set by the kernel: a cell reads its input from the notebook (input())"],
    ["-i", "-i (--input) is set by the kernel"],
    ["--open-mode", "--open-mode is set by the kernel: the kernel owns the cell's output files"],
    [
      "--test-only",
      "--test-only is set by the kernel: the kernel checks the options against the cluster before it submits",
    ],
    [
      "--kill-on-invalid-dep",
      "--kill-on-invalid-dep is set by the kernel: a cell whose dependency failed is ended by the kernel with DependencyNeverSatisfied",
    ],
  ])("kernel-owned %s", (option, message) => {
    for (const tokens of [[option, "x"], [`${option}${option.startsWith("--") ? "=" : ""}x`]]) {
      expect(() => parseSlurmOptions(tokens)).toThrow(MagicError);
      expect(() => parseSlurmOptions(tokens)).toThrow(message);
    }
  });

  test("every kernel-owned option of the registry is refused, by each spelling, saying why", () => {
    for (const o of KERNEL_OWNED_SBATCH)
      for (const spelling of [o.long, ...(o.short ? [o.short] : [])])
        expect(() => parseSlurmOptions([spelling, "x"])).toThrow(`is set by the kernel: ${o.why}`);
  });

  test("messages name the line they came from", () => {
    expect(() => parseSlurmOptions(["foo"], "%slurm")).toThrow("unexpected 'foo' in %slurm: options only");
    expect(() => parseSlurmOptions(["--mem"], "#SBATCH")).toThrow("--mem needs a value in #SBATCH");
  });

  test("the kernel's own options are not sbatch's: refused in #SBATCH lines", () => {
    expect(() => parseSlurmOptions(["--detach"], "#SBATCH")).toThrow(
      "--detach is a %%slurm option, not sbatch's: write it on a %%slurm first line",
    );
    expect(() => parseSlurmOptions(["--profile", "big"], "#SBATCH")).toThrow("--profile is a %%slurm option");
  });
});

describe("merging", () => {
  test("mergeSbatch: later values win in place; --mem and --mem-per-cpu replace each other", () => {
    const base: SbatchPair[] = [["--mem", "8G"], ["--time", "1:00:00"], ["--exclusive"]];
    expect(
      mergeSbatch(base, [
        ["--mem-per-cpu", "2G"],
        ["--partition", "amem"],
        ["--time", "2:00:00"],
      ]),
    ).toEqual([["--mem-per-cpu", "2G"], ["--time", "2:00:00"], ["--exclusive"], ["--partition", "amem"]]);
    expect(base).toHaveLength(3); // untouched
  });

  test("mergeOptions: detach from either, the later profile", () => {
    expect(
      mergeOptions(
        { sbatch: [["--partition", "acpu"]], detach: true, profile: "a" },
        { sbatch: [["--partition", "amem"]], detach: false },
      ),
    ).toEqual({ sbatch: [["--partition", "amem"]], detach: true, profile: "a" });
    expect(
      mergeOptions({ sbatch: [], detach: false, profile: "a" }, { sbatch: [], detach: false, profile: "b" })
        .profile,
    ).toBe("b");
    expect(mergeOptions({ sbatch: [], detach: false }, { sbatch: [], detach: false })).not.toHaveProperty(
      "profile",
    );
  });
});

describe("arrays, dependencies and job scripts", () => {
  test("--array / -a and --dependency / -d are sbatch's, checked; --after is the kernel's", () => {
    expect(parseSlurmOptions(["-a", "0-99%10", "-d", "afterany:12:13,afterok:14"])).toEqual({
      sbatch: [
        ["--array", "0-99%10"],
        ["--dependency", "afterany:12:13,afterok:14"],
      ],
      detach: false,
    });
    expect(parseSlurmOptions(["--after", "12", "--after=4519_3,13"]).after).toEqual(["12", "4519_3", "13"]);
    expect(parseSlurmOptions(["--ntasks-per-node", "4"]).sbatch).toEqual([["--ntasks-per-node", "4"]]);
  });

  test.each<[string[], string]>([
    [["--array", "0-9%0"], "--array '0-9%0' is not a job array: %0 would never run a task"],
    [
      ["--after", "cell12"],
      "--after 'cell12' is not a cell or job: use a cell's execution count or a job id",
    ],
    [["--dependency", "afterok 12"], "--dependency 'afterok 12' is not a dependency"],
    [["--ntasks-per-node", "0"], "--ntasks-per-node '0' is not a number of tasks: use a whole number from 1"],
    [
      ["--after", "12", "-d", "afterok:3"],
      "--after and --dependency together in %%slurm: --after 12 is --dependency=afterok:<cell 12's job>; keep one",
    ],
  ])("refused: %j", (tokens, message) => {
    expect(() => parseSlurmOptions(tokens)).toThrow(message);
  });

  test("--after is not sbatch's: not in #SBATCH lines", () => {
    expect(() => parseSlurmOptions(["--after", "3"], "#SBATCH")).toThrow(
      "--after is a %%slurm option, not sbatch's: write it on a %%slurm first line",
    );
  });

  test("in a job script (%%bash): sbatch's other options pass, --output/--error are left out and named", () => {
    const opts = { jobScript: true };
    expect(
      parseSlurmOptions(
        [
          "--ntasks-per-core",
          "2",
          "--hold",
          "--nodelist=c3cpu-a1-u1-2",
          "-o",
          "run.out",
          "--error=x",
          "-p",
          "acpu",
        ],
        "#SBATCH",
        opts,
      ),
    ).toEqual({
      sbatch: [
        ["--ntasks-per-core", "2"],
        ["--hold"],
        ["--nodelist", "c3cpu-a1-u1-2"],
        ["--partition", "acpu"],
      ],
      detach: false,
      ignored: ["-o", "--error"],
    });
    expect(() => parseSlurmOptions(["--chdir=/x"], "#SBATCH", opts)).toThrow("--chdir is set by the kernel");
    expect(() => parseSlurmOptions(["--frobnicate"], "#SBATCH", opts)).toThrow("unknown option --frobnicate");
    // Outside job scripts the same options are refused as before.
    expect(() => parseSlurmOptions(["--hold"], "#SBATCH")).toThrow(
      "--hold is an sbatch option that #SBATCH does not take",
    );
  });
});
