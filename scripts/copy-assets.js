#!/usr/bin/env node
// Build step after tsc: ship the Python cell runner (src/runner/**.py) beside the compiled code.
"use strict";
const fs = require("fs");
const path = require("path");
const root = path.join(__dirname, "..");
const src = path.join(root, "src", "runner");
const dst = path.join(root, "dist", "runner");
fs.rmSync(dst, { recursive: true, force: true });
fs.cpSync(src, dst, { recursive: true, filter: (p) => !p.includes("__pycache__") && (fs.statSync(p).isDirectory() || p.endsWith(".py")) });
fs.chmodSync(path.join(root, "dist", "cli", "main.js"), 0o755);
