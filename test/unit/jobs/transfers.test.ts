/**
 * %upload / %download over the local transport (plain copies on this machine, as for JupyterLab on
 * Alpine itself): where a file goes, what is refused and why, progress, and the checksum. The same
 * code runs over SSH in test/integration/ssh-laptop.test.ts.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalTransport } from "../../../src/cluster/local-transport";
import { SessionFiles } from "../../../src/jobs/session-files";
import { TransferError, Transfers } from "../../../src/jobs/transfers";

let dir: string;
let laptop: string;
let cluster: string;
let transfers: Transfers;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ak-transfers-"));
  laptop = join(dir, "laptop");
  cluster = join(dir, "cluster", "notebooks", "analysis");
  mkdirSync(laptop);
  const transport = new LocalTransport();
  transfers = new Transfers(
    transport,
    new SessionFiles(transport, { notebookDir: "{work_dir}/{notebook}", workDir: dir }),
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");
const req = (source: string, destination?: string, force = false) => ({
  source,
  destination,
  force,
  clusterBase: cluster,
  localBase: laptop,
});

test("upload: into the cells directory (created on first use), same name, checksum and size told", async () => {
  const data = Buffer.alloc(3 << 20, 7);
  writeFileSync(join(laptop, "cohort.csv"), data);
  const progress: [number, number][] = [];
  const r = await transfers.upload({ ...req("cohort.csv"), onProgress: (d, t) => progress.push([d, t]) });
  expect(r).toMatchObject({
    source: join(laptop, "cohort.csv"),
    destination: join(cluster, "cohort.csv"),
    bytes: 3 << 20,
  });
  expect(r.sha256).toBe(sha(data));
  expect(readFileSync(join(cluster, "cohort.csv"))).toEqual(data);
  expect(progress.at(-1)).toEqual([3 << 20, 3 << 20]);
});

test.each([
  ["a file name", "renamed.csv", "renamed.csv"],
  ["a folder with a trailing /", "data/", "data/cohort.csv"],
  ["a path inside a folder", "data/in/here.csv", "data/in/here.csv"],
  ["the directory itself", ".", "cohort.csv"],
])("upload to %s", async (_n, dest, where) => {
  writeFileSync(join(laptop, "cohort.csv"), "a,b\n");
  const r = await transfers.upload(req("cohort.csv", dest));
  expect(r.destination).toBe(join(cluster, where));
  expect(readFileSync(join(cluster, where), "utf8")).toBe("a,b\n");
});

test("upload into an existing folder named without a trailing /", async () => {
  writeFileSync(join(laptop, "cohort.csv"), "x");
  mkdirSync(join(cluster, "data"), { recursive: true });
  expect((await transfers.upload(req("cohort.csv", "data"))).destination).toBe(
    join(cluster, "data", "cohort.csv"),
  );
});

test("nothing is replaced without --force; with it, it is", async () => {
  writeFileSync(join(laptop, "cohort.csv"), "new");
  mkdirSync(cluster, { recursive: true });
  writeFileSync(join(cluster, "cohort.csv"), "old");
  await expect(transfers.upload(req("cohort.csv"))).rejects.toThrow(
    `${join(cluster, "cohort.csv")} already exists on the cluster; add --force to replace it`,
  );
  expect(readFileSync(join(cluster, "cohort.csv"), "utf8")).toBe("old");
  await transfers.upload(req("cohort.csv", undefined, true));
  expect(readFileSync(join(cluster, "cohort.csv"), "utf8")).toBe("new");
});

test.each([
  [
    "a missing file",
    () => {},
    "missing.csv",
    /^no file missing\.csv on this machine \(looked for .*missing\.csv\)$/,
  ],
  [
    "a folder",
    () => mkdirSync(join(laptop, "folder")),
    "folder",
    /is a folder: %upload copies one file \(pack a folder with tar first\)/,
  ],
])("upload refuses %s, saying what to do", async (_n, setup, source, message) => {
  setup();
  const err = await transfers.upload(req(source)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TransferError);
  expect((err as Error).message).toMatch(message);
});

test("a destination that is a folder of the same name as the file is refused", async () => {
  writeFileSync(join(laptop, "x"), "1");
  mkdirSync(join(cluster, "x", "x"), { recursive: true });
  await expect(transfers.upload(req("x", "x"))).rejects.toThrow(/is a folder on the cluster: name a file/);
});

test("download: from the cells directory to the notebook's folder; refused over an existing file", async () => {
  mkdirSync(cluster, { recursive: true });
  writeFileSync(join(cluster, "results.csv"), "a,b\n1,2\n");
  const r = await transfers.download(req("results.csv"));
  expect(r.destination).toBe(join(laptop, "results.csv"));
  expect(r.sha256).toBe(sha("a,b\n1,2\n"));
  expect(readFileSync(join(laptop, "results.csv"), "utf8")).toBe("a,b\n1,2\n");
  await expect(transfers.download(req("results.csv"))).rejects.toThrow(
    /already exists on this machine; add --force/,
  );
  await expect(transfers.download(req("nope.csv"))).rejects.toThrow(/^no file nope\.csv on the cluster/);
});

test("the same file on both sides (local transport, same folder) is not copied onto itself", async () => {
  const same = new Transfers(
    new LocalTransport(),
    new SessionFiles(new LocalTransport(), { notebookDir: "", workDir: dir }),
  );
  writeFileSync(join(laptop, "f.csv"), "1");
  await expect(same.upload({ ...req("f.csv"), clusterBase: laptop })).rejects.toThrow(
    /is already where it would go: nothing to copy/,
  );
  expect(readFileSync(join(laptop, "f.csv"), "utf8")).toBe("1");
});

test("no half-written file is left under the real name when a copy fails", async () => {
  writeFileSync(join(laptop, "f.csv"), "1");
  mkdirSync(cluster, { recursive: true });
  writeFileSync(join(cluster, "blocker"), "a file where a folder should be");
  await expect(transfers.upload(req("f.csv", "blocker/inside.csv"))).rejects.toThrow(/copying .* failed/);
  expect(existsSync(join(cluster, "blocker", "inside.csv"))).toBe(false);
});
