/**
 * alpine-kernel's JupyterLab extension: the "Alpine jobs" side panel, a status-bar item
 * ("2 running · 3 queued") that opens it, and notifications when a cell starts after waiting in
 * the queue and when a detached cell ends. Its data comes through the kernel's comm (feed.ts).
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from "@jupyterlab/application";
import { Notification } from "@jupyterlab/apputils";
import { INotebookTracker, type NotebookPanel } from "@jupyterlab/notebook";
import { ISettingRegistry } from "@jupyterlab/settingregistry";
import { IStatusBar } from "@jupyterlab/statusbar";
import { LabIcon } from "@jupyterlab/ui-components";
import { Widget } from "@lumino/widgets";
import type { JobNotice, JobView } from "../../src/protocol/jobs-feed.js";
import { JobsFeed } from "./feed.js";
import { cellTitle, clockText, countsText, isAllocation, stateWords } from "./format.js";
import { JobsPanel } from "./panel.js";

const PLUGIN_ID = "@alpine-kernel/jupyterlab-jobs:plugin";
const OPEN_COMMAND = "alpine-kernel:open-jobs";

const ICON = new LabIcon({
  name: "alpine-kernel:jobs",
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path class="jp-icon3" fill="#616161" d="M3 19h18L14.5 7l-3.8 6.3-2.2-2.8L3 19zm3-11.5A1.5 1.5 0 1 0 6 4.5a1.5 1.5 0 0 0 0 3z"/></svg>',
});

interface Settings {
  notifyStartAfterQueuedSeconds: number;
  notifyDetachedEnd: boolean;
  notificationSeconds: number;
}
const DEFAULTS: Settings = {
  notifyStartAfterQueuedSeconds: 10,
  notifyDetachedEnd: true,
  notificationSeconds: 10,
};

/** Opens the cell's notebook and selects the cell; says why not when it cannot. */
async function jumpToCell(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  v: JobView,
): Promise<string | undefined> {
  if (!v.notebookPath) return `${v.notebook}: JupyterLab did not run this notebook, so its place is unknown`;
  let panel = tracker.find((p) => p.context.path === v.notebookPath);
  if (!panel) {
    await app.commands.execute("docmanager:open", { path: v.notebookPath });
    panel = tracker.find((p) => p.context.path === v.notebookPath);
  }
  if (!panel) return `could not open ${v.notebookPath}`;
  app.shell.activateById(panel.id);
  await panel.context.ready;
  return selectCell(panel, v);
}

async function selectCell(panel: NotebookPanel, v: JobView): Promise<string | undefined> {
  if (isAllocation(v)) return undefined; // an allocation is the notebook's, not one cell's
  const nb = panel.content;
  const index = nb.widgets.findIndex((c) => c.model.id === v.cellId);
  if (!v.cellId || index < 0) return `cell [${v.executionCount}] is no longer in ${panel.context.path}`;
  nb.activeCellIndex = index;
  nb.deselectAll();
  await nb.scrollToCell(nb.widgets[index]!, "center");
  return undefined;
}

function notify(notice: JobNotice, s: Settings, show: () => void): void {
  const v = notice.job;
  const options = {
    autoClose: s.notificationSeconds * 1000,
    actions: [{ label: isAllocation(v) ? "Show notebook" : "Show cell", callback: show }],
  };
  if (notice.kind === "started") {
    if (s.notifyStartAfterQueuedSeconds < 0 || notice.waitedSeconds < s.notifyStartAfterQueuedSeconds) return;
    Notification.info(
      `${cellTitle(v, false)} started on ${v.node ?? v.partition ?? "its node"} after waiting ${clockText(notice.waitedSeconds)} (job ${v.jobId})`,
      options,
    );
  } else if (isAllocation(v)) {
    // Released by the user: nothing to tell. Ended by itself (time limit, node failure): say so.
    if (v.end?.outcome !== "completed")
      Notification.warning(
        `${cellTitle(v, false)} ended: ${v.end?.message ?? stateWords(v)} (job ${v.jobId}); the notebook's next cells run as their own jobs`,
        options,
      );
  } else if (v.detached && s.notifyDetachedEnd) {
    const ok = v.end?.outcome === "completed";
    const text = `${cellTitle(v, false)} ${ok ? "completed" : `ended: ${stateWords(v)}`}${v.end?.seconds !== undefined ? ` in ${clockText(v.end.seconds)}` : ""} (job ${v.jobId})`;
    (ok ? Notification.success : Notification.error)(text, options);
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: "The Alpine jobs panel, status-bar item and notifications.",
  autoStart: true,
  requires: [INotebookTracker],
  optional: [IStatusBar, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    statusBar: IStatusBar | null,
    registry: ISettingRegistry | null,
  ) => {
    const settings: Settings = { ...DEFAULTS };
    if (registry)
      void registry
        .load(PLUGIN_ID)
        .then((s) => {
          const read = () => Object.assign(settings, DEFAULTS, s.composite as Partial<Settings>);
          read();
          s.changed.connect(read);
        })
        .catch((err: unknown) => console.warn(`alpine-kernel: settings not loaded: ${String(err)}`));

    const feed = new JobsFeed(app, tracker);
    const jump = (v: JobView) => jumpToCell(app, tracker, v);
    const panel = new JobsPanel(feed, jump);
    panel.title.icon = ICON;
    app.shell.add(panel, "right", { rank: 900 });

    app.commands.addCommand(OPEN_COMMAND, {
      label: "Show Alpine jobs",
      execute: () => app.shell.activateById(panel.id),
    });

    feed.notices.connect((_f, notice) =>
      notify(notice, settings, () => void jump(notice.job).then((why) => why && panel.say(why))),
    );

    if (statusBar) {
      const item = new Widget();
      item.addClass("ak-jobs-status");
      item.node.title = "Alpine jobs: click to open the panel";
      item.node.onclick = () => void app.commands.execute(OPEN_COMMAND);
      const update = () => (item.node.textContent = `Alpine: ${countsText(feed.jobs.values())}`);
      feed.changed.connect(update);
      update();
      statusBar.registerStatusItem(PLUGIN_ID, {
        item,
        align: "left",
        rank: 50,
        isActive: () => feed.connected,
        activeStateChanged: feed.changed,
      });
    }
  },
};

export default [plugin];
