// Integration tests run the built CLI (kernel.json points at dist/): build once before they start.
const { execFileSync } = require("node:child_process");
const { join } = require("node:path");
module.exports = async () => {
  if (process.env.ALPINE_KERNEL_SKIP_BUILD === "1") return;
  execFileSync("npm", ["run", "-s", "build"], { cwd: join(__dirname, "..", ".."), stdio: "inherit" });
};
