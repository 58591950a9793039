#!/usr/bin/env node
// Build step after the server: the JupyterLab extension (labextension/) as a prebuilt federated
// extension into dist/labextension (npm's @jupyterlab/builder; no Python: --core-path is JupyterLab
// 4.6.4's own core package.json, kept in labextension/jupyterlab-core), and the standalone queue
// page (the same compiled modules, loaded by the browser as ES modules) into dist/queue-page.
"use strict";
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");
const root = path.join(__dirname, "..");
const ext = path.join(root, "labextension");
const lib = path.join(ext, "lib");
const run = (file, args) => execFileSync(process.execPath, [file, ...args], { cwd: root, stdio: "inherit" });

fs.rmSync(lib, { recursive: true, force: true });
run(require.resolve("typescript/bin/tsc"), ["-p", ext]);

const out = path.join(root, "dist", "labextension");
fs.rmSync(out, { recursive: true, force: true });
run(require.resolve("@jupyterlab/builder/lib/build-labextension.js"), [
  "--core-path",
  path.join(ext, "jupyterlab-core"),
  ext,
]);
if (!fs.readdirSync(path.join(out, "static")).some((f) => f.startsWith("remoteEntry.")))
  throw new Error(`the JupyterLab extension did not build: no remoteEntry in ${out}/static`);

// The queue page: its module, the format helpers and the feed's types module, where their relative
// imports expect each other (same layout as lib/), plus its page and style.
const page = path.join(root, "dist", "queue-page");
fs.rmSync(page, { recursive: true, force: true });
const copy = (from, to) => {
  fs.mkdirSync(path.dirname(path.join(page, to)), { recursive: true });
  fs.copyFileSync(from, path.join(page, to));
};
for (const f of ["labextension/src/queue-page/main.js", "labextension/src/format.js", "src/protocol/jobs-feed.js"])
  copy(path.join(lib, f), f);
copy(path.join(ext, "src", "queue-page", "queue.css"), "labextension/src/queue-page/queue.css");
copy(path.join(ext, "src", "queue-page", "index.html"), "index.html");
