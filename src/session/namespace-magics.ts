/**
 * `%who` and `%whos`: the notebook's namespace listed by the kernel, without running a job and
 * without loading any value. `%who` needs nothing but the names the last cell reported; `%whos`
 * reads the store's index (sizes, what each value is, the files it is stored in). Inside a held
 * allocation the values live in its Python and the store holds only the last save: `%whos` lists
 * the names the last cell left, and for each whether the store has a (possibly older) copy.
 */
import type { NamespaceEntry, NamespaceIndex } from "../jobs/namespace-index";
import { storeBytes } from "../jobs/namespace-index";
import type { OutputSink } from "./cell-output";
import type { CellHost } from "./cell-host";
import { formatBytes } from "./status-display";
import { renderTable, type Table } from "./table";

const EMPTY = "Interactive namespace is empty.\n";

/** Names, optionally only those whose type is one of `types` (as IPython's %who). */
function selected(names: Iterable<[string, string]>, types: readonly string[]): [string, string][] {
  return [...names]
    .filter(([, type]) => types.length === 0 || types.includes(type))
    .sort(([a], [b]) => a.localeCompare(b));
}

export function whoMagic(args: readonly string[], host: CellHost, out: OutputSink): void {
  const names = selected(host.names.entries(), args);
  out.stream("stdout", names.length ? `${names.map(([n]) => n).join("\t")}\n` : EMPTY);
}

export async function whosMagic(args: readonly string[], host: CellHost, out: OutputSink): Promise<void> {
  const { store, index } = await host.env.files.readNamespaceIndex(host.place.dir);
  const live = host.allocation?.live;
  const bundle = live
    ? whosLiveBundle(host.names, index ?? undefined, live.jobId, args)
    : index && whosBundle(index, store, args);
  if (!bundle) out.stream("stdout", EMPTY);
  else out.display("display_data", { data: bundle, metadata: {}, transient: {} });
}

/** %whos's table (undefined: nothing to list), from the index alone. */
export function whosBundle(
  index: NamespaceIndex,
  store: string,
  types: readonly string[],
): Record<string, string> | undefined {
  const entries = selected(
    Object.entries(index.names).map(([n, e]) => [n, e.type]),
    types,
  );
  if (entries.length === 0) return undefined;
  const rows = entries.map(([name]) => {
    const entry = index.names[name]!;
    return [
      name,
      entry.type,
      entry.module ? "—" : formatBytes(entry.bytes),
      info(entry),
      stored(name, entry, index),
    ];
  });
  const table: Table = { headers: ["Variable", "Type", "Size", "Data/Info", "Stored"], rows };
  const total = Object.keys(index.names).length;
  const caption =
    `${rows.length === total ? total : `${rows.length} of ${total}`} name${total === 1 ? "" : "s"}, ` +
    `${formatBytes(storeBytes(index))} in ${store} (listed from the store's index: nothing was loaded)`;
  return renderTable(table, caption);
}

/** %whos inside a held allocation: the live names (as the last cell left them), and what the store kept. */
export function whosLiveBundle(
  names: ReadonlyMap<string, string>,
  index: NamespaceIndex | undefined,
  jobId: string,
  types: readonly string[],
): Record<string, string> | undefined {
  const entries = selected(names.entries(), types);
  if (entries.length === 0) return undefined;
  const rows = entries.map(([name, type]) => {
    const saved = index?.names[name];
    const copy = !saved
      ? "memory only"
      : saved.type === type
        ? `memory; saved copy ${saved.module ? "by name" : formatBytes(saved.bytes)}, maybe older`
        : `memory; the saved copy is another value (${saved.type})`;
    return [name, type, copy];
  });
  const caption =
    `${rows.length === names.size ? names.size : `${rows.length} of ${names.size}`} name${names.size === 1 ? "" : "s"} ` +
    `held in allocation ${jobId}'s Python (sizes are known only for what the store saved; nothing was loaded)`;
  return renderTable({ headers: ["Variable", "Type", "Held in"], rows }, caption);
}

function info(entry: NamespaceEntry): string {
  return entry.module ? `import ${entry.module}` : entry.info;
}

/** Where a value lives: its record file, its large buffers (mapped when loaded), who shares it. */
function stored(name: string, entry: NamespaceEntry, index: NamespaceIndex): string {
  if (entry.module) return "by name (imported when used)";
  const record = entry.record ? index.records[entry.record] : undefined;
  if (!record) return "—";
  const parts = [record.file];
  const buffers = record.buffers.length;
  if (buffers) parts.push(`${buffers} buffer file${buffers === 1 ? "" : "s"}, memory-mapped`);
  const with_ = record.names.filter((n) => n !== name && index.names[n]?.record === entry.record);
  if (with_.length) parts.push(`with ${with_.join(", ")} (shared objects)`);
  return parts.join(" + ");
}

/** For %squeue: "namespace: 14 names, 5.1 GB on disk". */
export function namespaceCaption(host: CellHost): string {
  const n = host.names.size;
  const size = host.namespaceBytes !== undefined ? `, ${formatBytes(host.namespaceBytes)} on disk` : "";
  return `namespace: ${n} name${n === 1 ? "" : "s"}${size} (%whos lists them)`;
}
