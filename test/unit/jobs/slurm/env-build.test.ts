/** The environment build job's script, and reading `conda env list --json`. */
import { parseCondaEnvList } from "../../../../src/jobs/conda-envs";
import { renderEnvBuildScript } from "../../../../src/jobs/slurm/env-build";
import { ClusterError } from "../../../../src/errors";

const BUILD = {
  action: "create" as const,
  name: "alpine-kernel",
  file: "name: x\n",
  modules: ["miniforge"],
  partition: "acompile",
  time: "2:00:00",
  account: "ucb-general",
};
const PATHS = {
  file: "/scratch/alpine/maya/ak/envs/b/environment.yml",
  output: "/scratch/alpine/maya/ak/envs/b/build.out",
};

test("a batch job on the build partition: modules, conda env create, then the new Python asked about itself", () => {
  const script = renderEnvBuildScript(BUILD, PATHS, "alpine-kernel:env/alpine-kernel/1");
  const lines = script.split("\n");
  expect(lines.slice(0, 7)).toEqual([
    "#!/bin/bash -l",
    "#SBATCH --job-name=ak-env-alpine-kernel",
    "#SBATCH --partition=acompile",
    "#SBATCH --time=2:00:00",
    "#SBATCH --account=ucb-general",
    `#SBATCH --output=${PATHS.output}`,
    "#SBATCH --comment=alpine-kernel:env/alpine-kernel/1",
  ]);
  expect(script).toContain(
    "module load miniforge || { echo 'alpine-kernel: module load miniforge failed'; exit 97; }",
  );
  expect(script).toContain(`conda env create --file ${PATHS.file} --name alpine-kernel || {`);
  expect(script).toContain("conda activate alpine-kernel || {");
  expect(script).toMatch(/\nexec python -c '.*ALPINE_KERNEL_PYTHON/s);
});

test("update, and no account line without an account", () => {
  const { account: _, ...noAccount } = BUILD;
  const script = renderEnvBuildScript({ ...noAccount, action: "update" }, PATHS, "t");
  expect(script).toContain("conda env update --file");
  expect(script).not.toContain("--account");
});

test.each(["", "my env", "x;rm -rf ~", "../up"])("a name conda would not take is refused: %j", (name) => {
  expect(() => renderEnvBuildScript({ ...BUILD, name }, PATHS, "t")).toThrow(ClusterError);
});

describe("parseCondaEnvList", () => {
  test("real conda's pretty-printed JSON, after a module's banner", () => {
    const out =
      'Loading miniforge\n{\n  "envs": [\n    "/curc/sw/miniforge3/24.11.3",\n    "/projects/maya/software/anaconda/envs/alpine-kernel"\n  ]\n}\n';
    expect(parseCondaEnvList(out)).toEqual([
      { name: "24.11.3", path: "/curc/sw/miniforge3/24.11.3" },
      { name: "alpine-kernel", path: "/projects/maya/software/anaconda/envs/alpine-kernel" },
    ]);
  });
  test("the test cluster's one-line JSON", () => {
    expect(parseCondaEnvList('{"envs": ["/opt/alpine/conda-envs/myenv"]}\n')).toEqual([
      { name: "myenv", path: "/opt/alpine/conda-envs/myenv" },
    ]);
  });
  test.each(["", "conda: command not found", '{"envs": "x"}', "{nope}"])("%j is refused", (out) => {
    expect(() => parseCondaEnvList(out)).toThrow(/conda env list --json answered something else/);
  });
});
