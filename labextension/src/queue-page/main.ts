/**
 * The standalone queue page (`alpine-kernel open`): the same jobs as the JupyterLab panel, for
 * people outside JupyterLab. Live through the server's WebSocket /api/jobs/feed (reconnecting when
 * it drops); cancel and output tails through the REST API. The token comes from the page's address.
 */
import type { JobView, JobsFeedMessage } from "../../../src/protocol/jobs-feed.js";
import {
  cellTitle,
  endingSoon,
  isAllocation,
  countsText,
  estimatedStartText,
  matchesState,
  notebookOf,
  notebooksOf,
  runsToShow,
  serviceUnitsText,
  sortJobs,
  stateDetail,
  timeText,
  type StateFilter,
} from "../format.js";

const token = new URLSearchParams(location.search).get("token") ?? "";
const jobs = new Map<string, JobView>();
let offset = 0;
let connected = false;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const say = (text: string) => {
  $("message").textContent = text;
};

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { ...init, headers: { Authorization: `token ${token}` } });
  const body = (await res.json()) as T & { message?: string };
  if (!res.ok) throw new Error(body.message ?? `HTTP ${res.status}`);
  return body;
}

function td(text: string, cls = ""): HTMLTableCellElement {
  const c = document.createElement("td");
  c.textContent = text;
  if (cls) c.className = cls;
  return c;
}

function render(): void {
  const all = [...jobs.values()];
  $("summary").textContent = connected ? countsText(all) : "not connected: retrying…";
  const nbSelect = $<HTMLSelectElement>("notebook");
  const keep = nbSelect.value;
  const choices: [string, string][] = [["", "all"], ...notebooksOf(all)];
  if ([...nbSelect.options].map((o) => o.value).join("\n") !== choices.map(([k]) => k).join("\n"))
    nbSelect.replaceChildren(...choices.map(([k, n]) => new Option(n, k, false, k === keep)));
  const state = $<HTMLSelectElement>("state").value as StateFilter;
  const now = Date.now() - offset;
  const runs = runsToShow(all);
  const rows = sortJobs(all)
    .filter((v) => (!nbSelect.value || notebookOf(v) === nbSelect.value) && matchesState(v, state))
    .map((v) => {
      const tr = document.createElement("tr");
      tr.className = `${v.phase} ${v.end ? (v.end.outcome === "completed" ? "completed" : "failed") : ""}${isAllocation(v) ? " allocation" : ""}${endingSoon(v, now) ? " ending-soon" : ""}`;
      tr.dataset.jobId = v.jobId;
      tr.append(
        td(cellTitle(v, runs.has(notebookOf(v)))),
        td(v.firstLine, "code"),
        td(v.jobId),
        td([v.partition, v.resources].filter(Boolean).join(" · ")),
        td(v.state),
        td(stateDetail(v)),
        td(timeText(v, now)),
        td(estimatedStartText(v)?.replace("est. start ", "") ?? ""),
        td(v.node ?? ""),
        td(serviceUnitsText(v, now) ?? ""),
      );
      const actions = document.createElement("td");
      // An allocation has no output of its own: its cells' rows have theirs.
      if (!isAllocation(v)) {
        const out = document.createElement("button");
        out.textContent = "Output";
        out.onclick = () => void showTail(v);
        actions.append(out);
      }
      if (v.phase !== "ended") {
        const cancel = document.createElement("button");
        cancel.textContent = isAllocation(v) ? "Release" : "Cancel";
        cancel.onclick = () => void cancelJob(v);
        actions.append(cancel);
      }
      tr.append(actions);
      return tr;
    });
  $("jobs").replaceChildren(...rows);
}

async function showTail(v: JobView): Promise<void> {
  try {
    const t = await api<{ text: string; lines: number }>(
      `/api/jobs/${encodeURIComponent(v.id)}/tail?lines=60`,
    );
    const pre = $("tail");
    pre.hidden = false;
    pre.textContent = `job ${v.jobId} — last lines of ${t.lines}:\n${t.text || "(no output yet)"}`;
  } catch (err) {
    say(`could not read the output: ${String(err)}`);
  }
}

async function cancelJob(v: JobView): Promise<void> {
  const question = isAllocation(v)
    ? `Release allocation ${v.jobId} (${cellTitle(v, false)})? Its namespace is saved first; the notebook's next cells run as their own jobs.`
    : `Cancel job ${v.jobId} (${cellTitle(v, false)})? Slurm stops it; its output so far stays.`;
  if (!confirm(question)) return;
  try {
    say(
      (await api<{ message: string }>(`/api/jobs/${encodeURIComponent(v.id)}/cancel`, { method: "POST" }))
        .message,
    );
  } catch (err) {
    say(`could not cancel: ${String(err)}`);
  }
}

function connect(delayMs = 1000): void {
  const ws = new WebSocket(
    `${location.origin.replace(/^http/, "ws")}/api/jobs/feed?token=${encodeURIComponent(token)}`,
  );
  ws.onopen = () => {
    connected = true;
    say("");
  };
  ws.onmessage = (e: MessageEvent<string>) => {
    const m = JSON.parse(e.data) as JobsFeedMessage;
    if (m.type === "snapshot" || m.type === "update") {
      if (m.type === "snapshot") jobs.clear();
      offset = Date.now() - m.now;
      for (const v of m.jobs) jobs.set(v.id, v);
      render();
    }
  };
  ws.onclose = () => {
    connected = false;
    render();
    window.setTimeout(() => connect(Math.min(delayMs * 2, 30_000)), delayMs);
  };
}

function start(): void {
  for (const [value, label] of [
    ["all", "all"],
    ["active", "queued or running"],
    ["queued", "queued"],
    ["running", "running"],
    ["ended", "ended"],
    ["failed", "did not complete"],
  ])
    $<HTMLSelectElement>("state").append(new Option(label, value));
  $("notebook").onchange = render;
  $("state").onchange = render;
  if (!token) say("This page needs its token: open it with `alpine-kernel open`.");
  connect();
  window.setInterval(render, 1000);
}

start();
