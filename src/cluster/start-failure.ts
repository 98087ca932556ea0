/**
 * How a cluster worker that could not start tells the primary why, so that the primary (not each worker)
 * logs the cause once and decides whether to give up. Both sides import only this file.
 */
export interface StartFailure {
  type: 'worker:start-failed';
  /** The error's code when it has one (EADDRINUSE, MODULE_NOT_FOUND...). */
  code?: string;
  message: string;
}

/** Failures that a restart cannot cure (listen errors, a renderer that cannot load): the primary stops at once. */
const PERMANENT = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES', 'RENDERER_UNAVAILABLE']);

export const isStartFailure = (m: unknown): m is StartFailure => (m as StartFailure | null)?.type === 'worker:start-failed';

export const isPermanent = (f: StartFailure): boolean => f.code !== undefined && PERMANENT.has(f.code);

/** The one line the primary logs: what went wrong, in words an operator acts on. */
export function describeStartFailure(f: StartFailure, host: string, port: number): string {
  switch (f.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${host}:${port}: the port is already in use (EADDRINUSE); stop the other process or set SERVER_PORT`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${host}:${port}: no such address on this machine (EADDRNOTAVAIL); check SERVER_HOST`;
    case 'EACCES':
      return `cannot listen on ${host}:${port}: permission denied (EACCES); ports below 1024 need privileges`;
    default:
      return `a worker failed to start: ${f.message}`;
  }
}

/** Worker side (a cluster worker always has its IPC channel): report the failure to the primary, then exit 1. */
export function reportStartFailure(err: unknown): void {
  const e = err as NodeJS.ErrnoException;
  const failure: StartFailure = { type: 'worker:start-failed', code: typeof e?.code === 'string' ? e.code : undefined, message: String(e?.message ?? err).split('\n')[0] };
  process.send!(failure, () => process.exit(1));
}
