/** The server's kernels: create, find, restart, shut down, and bring back those recorded before a restart. */
import { randomUUID } from "node:crypto";
import { basename } from "node:path";
import { InputError } from "../errors";
import type { KernelModel } from "./api-types";
import { DEFAULT_KERNEL_NAME } from "../kernel/kernelspec";
import type { SessionEnvironment } from "../session/environment";
import { resumeCell } from "../session/run-cell";
import { Session, type SessionRecord } from "../session/session";

export interface StartOptions {
  name?: string;
  /** Where cells run (the notebook's directory, from KERNEL_WORKING_DIR); defaults to the server's cwd. */
  workDir?: string;
  /** Notebook name for job names (JPY_SESSION_NAME or KERNEL_NOTEBOOK). */
  notebook?: string;
  /** The Python Jupyter runs in (KERNEL_JUPYTER_PYTHON, from the bridge): the local backend's default. */
  jupyterPython?: string;
  /** The kernelspec's resource profile (KERNEL_PROFILE): `alpine-kernel install --profile gpu`. */
  profile?: string;
}

export class KernelManager {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly env: SessionEnvironment) {
    for (const rec of env.ledger.list<SessionRecord>("session")) {
      this.adopt(Session.restore(env, rec));
    }
    // Cells whose kernel was shut down (detached ones keep running): followed to record their end.
    for (const rec of env.cells.inFlight().filter((r) => !this.sessions.has(r.sessionId))) {
      env.log.info({ job: rec.jobId }, "following a cell of a closed kernel again after a server restart");
      resumeCell(env, rec);
    }
  }

  list(): Session[] {
    return [...this.sessions.values()];
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  start(opts: StartOptions = {}): Session {
    const name = opts.name ?? DEFAULT_KERNEL_NAME;
    if (name !== DEFAULT_KERNEL_NAME) {
      throw new InputError(
        "NO_SUCH_KERNEL",
        `no kernelspec '${name}' here; this server runs '${DEFAULT_KERNEL_NAME}'`,
      );
    }
    const workDir = opts.workDir || process.cwd();
    const notebook = opts.notebook || basename(workDir) || "notebook";
    if (opts.profile !== undefined && !Object.hasOwn(this.env.config.slurm.profiles, opts.profile)) {
      const known = Object.keys(this.env.config.slurm.profiles);
      throw new InputError(
        "NO_SUCH_PROFILE",
        `this kernel's resource profile '${opts.profile}' is not in your configuration (${known.length ? `profiles: ${known.join(", ")}` : "no slurm.profiles"}); add it, or reinstall the kernelspec with \`alpine-kernel install --profile NAME\``,
      );
    }
    return this.adopt(
      Session.create(this.env, {
        id: randomUUID(),
        name,
        workDir,
        notebook,
        // An absolute path or nothing: it becomes the command that runs cells.
        ...(opts.jupyterPython && /^\/[^\0\n\r]*$/.test(opts.jupyterPython)
          ? { jupyterPython: opts.jupyterPython }
          : {}),
        ...(opts.profile ? { kernelProfile: opts.profile } : {}),
      }),
    );
  }

  private adopt(session: Session): Session {
    this.sessions.set(session.id, session);
    session.onShutdownRequest = async (restart) => {
      if (restart) await session.restart();
      else await this.shutdown(session.id);
    };
    return session;
  }

  async shutdown(id: string): Promise<boolean> {
    const session = this.sessions.get(id);
    if (!session) return false;
    this.sessions.delete(id);
    await session.shutdown();
    return true;
  }

  model(session: Session): KernelModel {
    return {
      id: session.id,
      name: session.name,
      last_activity: session.lastActivity.toISOString(),
      execution_state: session.executionState,
      connections: session.frontends.count,
    };
  }

  /** Frontends connected and cells in flight, over all kernels: what keeps the server from idling out. */
  activity(): { connections: number; cellsInFlight: number; lastActivity: number } {
    let connections = 0;
    let cellsInFlight = 0;
    let lastActivity = 0;
    for (const s of this.sessions.values()) {
      connections += s.frontends.count;
      cellsInFlight += s.cellsInFlight;
      lastActivity = Math.max(lastActivity, s.lastActivity.getTime());
    }
    cellsInFlight += this.env.cells.detachedInFlight();
    return { connections, cellsInFlight, lastActivity };
  }
}
