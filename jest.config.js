/** @type {import('jest').Config} */
// Two projects:
// - `unit` (`npm run test:unit`): pure code, parallel, in well under a minute. Needs nothing but
//   Node and the npm packages: no Python, bash, ssh/ssh-keygen or any other program. A test that
//   needs one belongs in `integration` (e.g. the cell runner's tests run Python: test/integration/runner/).
// - `integration`: real peers (Python and the cell runner, ZeroMQ, jupyter_client, nbconvert,
//   @jupyterlab/services, Chromium, Slurm, sshd, OpenSSH's ssh -G / ssh-keygen), one file at a time
//   in each of two lanes (scripts/integration-tests.sh: the cluster's files, and the others beside
//   them); its globalSetup builds dist/ first, since kernel.json
//   points there (ALPINE_KERNEL_SKIP_BUILD=1 skips that).
const common = {
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.jest.json" }] },
  // labextension/src imports with ".js" (ES modules in the browser): the .ts beside it in tests.
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  // The built extension's package.json has the same name as labextension/'s.
  modulePathIgnorePatterns: ["<rootDir>/dist/"],
};
module.exports = {
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts"] },
    {
      ...common,
      displayName: "integration",
      testMatch: ["<rootDir>/test/integration/**/*.test.ts"],
      globalSetup: "<rootDir>/test/helpers/global-build.js",
    },
  ],
  testTimeout: 60000,
};
