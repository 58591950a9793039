/** A session's introspection helper (docs/introspection.md): opened on first use, told what the namespace holds. */
import type { HelperContext } from "../jobs/introspection/helper-protocol";
import type { IntrospectionHelper } from "../jobs/introspection/introspection-helper";
import type { SessionRecord } from "./session-record";

/** The newest cells hold the definitions that count; older ones only cost parsing. */
const INTROSPECTION_CELLS = 200;

export function introspectionContext(state: SessionRecord): HelperContext {
  const kinds = state.kinds ?? { modules: {}, types: {} };
  return { ...kinds, cells: state.history.slice(-INTROSPECTION_CELLS).map(([, code]) => code) };
}

export class SessionIntrospection {
  private helper: IntrospectionHelper | undefined;
  private closed = false;

  constructor(
    /** None when completion.helper is off. */
    private readonly open: (() => IntrospectionHelper) | undefined,
    private readonly context: () => HelperContext,
  ) {}

  get(): IntrospectionHelper | undefined {
    if (!this.helper && this.open && !this.closed) {
      this.helper = this.open();
      this.helper.setContext(this.context());
    }
    return this.helper;
  }

  /** The namespace changed (a cell ended, the kernel restarted). */
  changed(): void {
    this.helper?.setContext(this.context());
  }

  close(): void {
    this.closed = true;
    this.helper?.close();
  }
}
