/**
 * The namespace store's index (`<store>/index.json`, written by the runner): the part of the store
 * the server reads — to list the namespace without loading it (`%whos`), and to snapshot the
 * store for a detached cell (its `files`). The format is described in docs/cell-runner.md.
 */
import { z } from "zod";
import { InputError } from "../errors";

export const NAMESPACE_FORMAT = "alpine-kernel namespace 2";

const nameSchema = z.object({
  /** A module carried by name (re-imported when a cell uses it). */
  module: z.string().optional(),
  /** The record holding the value. */
  record: z.string().optional(),
  type: z.string().default(""),
  info: z.string().default(""),
  /** The value's pickled size, out-of-band buffers included. */
  bytes: z.number().nonnegative().default(0),
});

/** [file, offset, length] of one large buffer of a record. */
const bufferRef = z.tuple([z.string(), z.number().nonnegative(), z.number().nonnegative()]);

const recordSchema = z.object({
  file: z.string(),
  names: z.array(z.string()),
  buffers: z.array(bufferRef).default([]),
  pickler: z.string().default(""),
});

/** A store data file name: never a path (the server links them by name into a snapshot). */
const fileName = z.string().regex(/^[rb]-[0-9]+-[0-9a-f]+\.(pkl|bin)$/, "is not a store file name");

const indexSchema = z.object({
  format: z.literal(NAMESPACE_FORMAT),
  generation: z.number().int().nonnegative(),
  names: z.record(z.string(), nameSchema),
  records: z.record(z.string(), recordSchema),
  files: z.record(fileName, z.number().nonnegative()),
});

export type NamespaceIndex = z.infer<typeof indexSchema>;
export type NamespaceEntry = z.infer<typeof nameSchema>;

/** The store's index could not be read. */
export class NamespaceIndexError extends InputError {
  constructor(message: string) {
    super("BAD_NAMESPACE_INDEX", message);
  }
}

/** Parses and checks an index file's bytes. @throws NamespaceIndexError naming what is wrong. */
export function parseNamespaceIndex(raw: Buffer | string, where: string): NamespaceIndex {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString());
  } catch (err) {
    throw new NamespaceIndexError(`${where} is not JSON: ${(err as Error).message}`);
  }
  const parsed = indexSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join(".") || "(top)";
    throw new NamespaceIndexError(
      `${where} is not a namespace index this server reads: ${path}: ${issue?.message ?? "invalid"}`,
    );
  }
  return parsed.data;
}

/** Sum of the store's data file sizes. */
export function storeBytes(index: NamespaceIndex): number {
  return Object.values(index.files).reduce((a, b) => a + b, 0);
}
