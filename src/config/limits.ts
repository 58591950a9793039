/** Defaults of size limits, apart from config.ts so that the kernel bridge can read them cheaply. */

/** server.max_cell_code_mib when the configuration does not say. */
export const DEFAULT_MAX_CELL_CODE_MIB = 4;
