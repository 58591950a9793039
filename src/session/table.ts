/** A small table as a notebook shows it: aligned text for terminals, HTML for notebooks. */
import { escapeHtml } from "./html";

export interface Table {
  headers: string[];
  rows: string[][];
}

export function tableText(t: Table): string {
  const widths = t.headers.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(t.headers), ...t.rows.map(line)].join("\n");
}

export function tableHtml(t: Table): string {
  const head = t.headers.map((h) => `<th style="text-align:left">${escapeHtml(h)}</th>`).join("");
  const body = t.rows
    .map((r) => `<tr>${r.map((c) => `<td style="text-align:left">${escapeHtml(c)}</td>`).join("")}</tr>`)
    .join("");
  return `<table class="alpine-kernel-table"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** A display bundle with a caption line above the table. */
export function renderTable(t: Table, caption: string): Record<string, string> {
  const text = t.rows.length ? `${caption}\n${tableText(t)}` : caption;
  const html = `<div style="font-family:monospace">${escapeHtml(caption)}</div>${t.rows.length ? tableHtml(t) : ""}`;
  return { "text/plain": text, "text/html": html };
}
