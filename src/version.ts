/** The package version, read once from package.json (works from src/ under jest and from dist/). */
import { readFileSync } from "node:fs";
import { join } from "node:path";

function readVersion(): string {
  for (const rel of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, rel), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "alpine-kernel" && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return "0.0.0";
}

export const VERSION = readVersion();
