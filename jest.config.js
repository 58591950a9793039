/** @type {import('jest').Config} */
// Two projects: `unit` (pure code, parallel) and `integration` (real peers: ZeroMQ, jupyter_client,
// nbconvert, @jupyterlab/services, Chromium, Slurm, sshd — run one file at a time, see scripts/test-all.sh).
const common = {
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.jest.json" }] },
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
