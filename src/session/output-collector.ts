/**
 * The outputs of a detached cell (`%%slurm --detach`): the notebook got its reply at once, so they
 * are collected and shown under the cell's status line when its job ends.
 */
import type { ClearOutput, DisplayData, ErrorContent, ExecuteResult } from "../protocol/messages";
import type { OutputSink } from "./cell-output";
import { escapeHtml } from "./html";

const MAX_COLLECTED_CHARS = 1_000_000;

// eslint-disable-next-line no-control-regex -- ANSI colour codes of tracebacks
const ANSI = /\u001b\[[0-9;]*m/g;

export class OutputCollector implements OutputSink {
  private html: string[] = [];
  private text: string[] = [];
  private size = 0;
  private truncated = false;

  private add(html: string, text: string): void {
    if (this.size > MAX_COLLECTED_CHARS) {
      this.truncated = true;
      return;
    }
    this.size += html.length + text.length;
    this.html.push(html);
    this.text.push(text);
  }

  stream(name: "stdout" | "stderr", text: string): void {
    const color = name === "stderr" ? "background:#fdd;" : "";
    this.add(`<pre style="margin:0;${color}">${escapeHtml(text)}</pre>`, text);
  }

  display(_type: "display_data" | "update_display_data", content: DisplayData): void {
    this.bundle(content.data);
  }

  result(content: ExecuteResult): void {
    this.bundle(content.data);
  }

  private bundle(data: Record<string, unknown>): void {
    const png = data["image/png"];
    if (typeof png === "string") return this.add(`<img src="data:image/png;base64,${png}"/>`, "[image]");
    const html = data["text/html"];
    const plain = typeof data["text/plain"] === "string" ? data["text/plain"] : "";
    this.add(typeof html === "string" ? html : `<pre style="margin:0">${escapeHtml(plain)}</pre>`, plain);
  }

  error(e: ErrorContent): void {
    const tb = e.traceback.join("\n").replace(ANSI, "");
    this.add(
      `<pre style="margin:0;background:#fdd">${escapeHtml(tb || `${e.ename}: ${e.evalue}`)}</pre>`,
      tb || `${e.ename}: ${e.evalue}`,
    );
  }

  clear(_content: ClearOutput): void {}

  page(data: Record<string, unknown>): void {
    this.bundle(data);
  }

  rendered(jobId: string): { html: string; text: string } {
    const note = this.truncated ? [`(output truncated: %slurm output ${jobId} shows all of it)`] : [];
    return {
      html: [...this.html, ...note.map((n) => `<div>${escapeHtml(n)}</div>`)].join(""),
      text: [...this.text, ...note].join(""),
    };
  }
}
