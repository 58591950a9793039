/**
 * The "Alpine jobs" side panel: every cell job of every notebook of this user, live. Filter by
 * notebook and state; click a row to jump to its cell; "Output" shows the tail of a cell's output
 * (a detached cell's lives only in its files); "Cancel" asks first. Plain DOM, re-rendered when the
 * feed changes; the waiting/running clocks tick once a second without asking anything.
 */
import { Dialog, showDialog } from "@jupyterlab/apputils";
import { Widget } from "@lumino/widgets";
import type { JobView } from "../../src/protocol/jobs-feed.js";
import type { JobsFeed } from "./feed.js";
import {
  cellTitle,
  countsText,
  endingSoon,
  estimatedStartText,
  isAllocation,
  matchesState,
  notebookOf,
  notebooksOf,
  runsToShow,
  serviceUnitsText,
  sortJobs,
  stateDetail,
  timeText,
  type StateFilter,
} from "./format.js";

const STATES: [StateFilter, string][] = [
  ["all", "all states"],
  ["active", "queued or running"],
  ["queued", "queued"],
  ["running", "running"],
  ["ended", "ended"],
  ["failed", "did not complete"],
];

/** Jumps to a cell: opens its notebook and selects the cell. Says why not when it cannot. */
export type JumpToCell = (v: JobView) => Promise<string | undefined>;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export class JobsPanel extends Widget {
  private notebookFilter = "";
  private stateFilter: StateFilter = "all";
  private readonly tails = new Map<string, string>();
  private readonly head = el("div", "ak-jobs-head");
  private readonly notebookSelect = el("select", "ak-jobs-notebook");
  private readonly stateSelect = el("select", "ak-jobs-state");
  private readonly summary = el("div", "ak-jobs-summary");
  private readonly message = el("div", "ak-jobs-message");
  private readonly list = el("div", "ak-jobs-list");
  private tick: number | undefined;

  constructor(
    private readonly feed: JobsFeed,
    private readonly jump: JumpToCell,
  ) {
    super();
    this.id = "alpine-kernel-jobs";
    this.addClass("ak-jobs-panel");
    this.title.caption = "Alpine jobs";
    for (const [value, label] of STATES) this.stateSelect.append(new Option(label, value));
    this.notebookSelect.onchange = () => {
      this.notebookFilter = this.notebookSelect.value;
      this.render();
    };
    this.stateSelect.onchange = () => {
      this.stateFilter = this.stateSelect.value as StateFilter;
      this.render();
    };
    this.head.append(el("h2", "", "Alpine jobs"), this.summary, this.notebookSelect, this.stateSelect);
    this.node.append(this.head, this.message, this.list);
    feed.changed.connect(() => this.render());
    this.tick = window.setInterval(() => this.updateClocks(), 1000);
    this.render();
  }

  override dispose(): void {
    window.clearInterval(this.tick);
    super.dispose();
  }

  /** Says something at the top of the panel for a while (a cancel sent, a jump that failed). */
  say(text: string): void {
    this.message.textContent = text;
    window.setTimeout(() => {
      if (this.message.textContent === text) this.message.textContent = "";
    }, 8000);
  }

  private render(): void {
    const jobs = [...this.feed.jobs.values()];
    this.summary.textContent = this.feed.connected
      ? countsText(jobs)
      : "not connected: no Alpine kernel is running";
    this.renderNotebookChoices(jobs);
    this.list.replaceChildren();
    if (!this.feed.connected) return this.renderDisconnected();
    const runs = runsToShow(jobs);
    const shown = sortJobs(jobs).filter(
      (v) =>
        (!this.notebookFilter || notebookOf(v) === this.notebookFilter) && matchesState(v, this.stateFilter),
    );
    if (!shown.length)
      this.list.append(
        el(
          "div",
          "ak-jobs-empty",
          jobs.length ? "No job matches these filters." : "No cell jobs in the last 24 hours.",
        ),
      );
    for (const v of shown) this.list.append(this.row(v, runs.has(notebookOf(v))));
  }

  private renderNotebookChoices(jobs: JobView[]): void {
    const choices: [string, string][] = [["", "all notebooks"], ...notebooksOf(jobs)];
    const now = [...this.notebookSelect.options].map((o) => o.value).join("\n");
    if (now === choices.map(([k]) => k).join("\n")) return;
    this.notebookSelect.replaceChildren(
      ...choices.map(([k, name]) => new Option(name, k, false, k === this.notebookFilter)),
    );
  }

  private renderDisconnected(): void {
    const box = el("div", "ak-jobs-empty");
    box.append(
      el(
        "p",
        "",
        "The jobs panel listens through an Alpine kernel. Open a notebook with the Python (Alpine) kernel, or:",
      ),
    );
    const start = el("button", "jp-Button jp-mod-styled jp-mod-accept", "Watch jobs without a notebook");
    start.onclick = () =>
      this.feed
        .startWatcherKernel()
        .catch((err: unknown) => this.say(`could not start a kernel: ${String(err)}`));
    box.append(start);
    this.list.append(box);
  }

  private row(v: JobView, showRun: boolean): HTMLElement {
    const held = isAllocation(v);
    const row = el("div", `ak-job ak-job-${v.phase} ak-outcome-${v.end?.outcome ?? "none"}`);
    row.dataset.id = v.id;
    row.dataset.jobId = v.jobId;
    row.title = held ? "Click to go to its notebook" : "Click to go to this cell";
    const now = this.feed.now();
    if (held) row.classList.add("ak-job-allocation");
    row.classList.toggle("ak-job-ending-soon", endingSoon(v, now));
    const top = el("div", "ak-job-top");
    top.append(el("span", "ak-job-cell", cellTitle(v, showRun)), el("span", "ak-job-state", v.state));
    const code = el("div", "ak-job-code", v.firstLine || "(no code)");
    const facts = el("div", "ak-job-facts");
    const resources = [v.partition, v.resources].filter(Boolean).join(" · ");
    for (const text of [
      `job ${v.jobId}`,
      resources,
      timeText(v, now),
      estimatedStartText(v),
      serviceUnitsText(v, now),
    ])
      if (text) facts.append(el("span", "ak-job-fact", text));
    (facts.children[2] as HTMLElement | undefined)?.classList.add("ak-job-clock");
    const detail = el("div", "ak-job-detail", stateDetail(v));
    const actions = el("div", "ak-job-actions");
    const output = el(
      "button",
      "jp-Button jp-mod-styled ak-job-output",
      this.tails.has(v.id) ? "Hide output" : "Output",
    );
    output.onclick = (e) => {
      e.stopPropagation();
      void this.toggleTail(v);
    };
    // An allocation has no output of its own: its cells' rows have theirs.
    if (!held) actions.append(output);
    if (v.phase !== "ended") {
      const cancel = el(
        "button",
        `jp-Button jp-mod-styled jp-mod-warn ak-job-cancel${held ? " ak-job-release" : ""}`,
        held ? "Release" : "Cancel",
      );
      cancel.onclick = (e) => {
        e.stopPropagation();
        void this.cancel(v);
      };
      actions.append(cancel);
    }
    row.append(top, code, facts, detail, actions);
    const tail = this.tails.get(v.id);
    if (tail !== undefined) row.append(el("pre", "ak-job-tail", tail || "(no output yet)"));
    row.onclick = () => void this.jump(v).then((why) => why && this.say(why));
    return row;
  }

  private updateClocks(): void {
    const now = this.feed.now();
    for (const row of this.list.querySelectorAll<HTMLElement>(".ak-job")) {
      const v = this.feed.jobs.get(row.dataset.id ?? "");
      const clock = row.querySelector(".ak-job-clock");
      if (v && clock && v.phase !== "ended") clock.textContent = timeText(v, now);
      if (v) row.classList.toggle("ak-job-ending-soon", endingSoon(v, now));
    }
  }

  private async toggleTail(v: JobView): Promise<void> {
    if (this.tails.has(v.id)) {
      this.tails.delete(v.id);
      return this.render();
    }
    try {
      const a = await this.feed.tail(v.id, 40);
      if (a.type === "error") return this.say(a.message);
      if (a.type === "tail") {
        const more = a.lines > 40 ? `… (last 40 of ${a.lines} lines)\n` : "";
        this.tails.set(v.id, more + a.text);
      }
    } catch (err) {
      this.say(`could not read the output: ${String(err)}`);
    }
    this.render();
  }

  private async cancel(v: JobView): Promise<void> {
    const answer = await showDialog(
      isAllocation(v)
        ? {
            title: "Release this allocation?",
            body: `${cellTitle(v, false)}: job ${v.jobId} (${v.state.toLowerCase()}). Its namespace is saved first; the notebook's next cells run as their own jobs.`,
            buttons: [Dialog.cancelButton({ label: "Keep it" }), Dialog.warnButton({ label: "Release" })],
          }
        : {
            title: "Cancel this cell's job?",
            body: `${cellTitle(v, false)}: job ${v.jobId} (${v.state.toLowerCase()}). Slurm stops it; its output so far stays.`,
            buttons: [Dialog.cancelButton({ label: "Keep it" }), Dialog.warnButton({ label: "Cancel job" })],
          },
    );
    if (!answer.button.accept) return;
    try {
      const a = await this.feed.cancel(v.id);
      this.say(a.type === "error" ? `could not cancel: ${a.message}` : "message" in a ? a.message : "");
    } catch (err) {
      this.say(`could not cancel: ${String(err)}`);
    }
  }
}
