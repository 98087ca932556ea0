/** The event contract between processes and replicas (Redis pub/sub or cluster IPC). */

/** Why a fetch failed, as its owner records it for the processes that waited on it. */
export interface FetchFailure {
  code: string;
  status: number;
  message: string;
  retryAfter?: number;
}

/** Messages every worker of every replica receives on the shared channel. */
export type BusEvent =
  | { type: 'ready'; id: string }
  | { type: 'failed'; id: string; error: FetchFailure }
  | { type: 'invalidate'; id: string; uid?: string }
  | { type: 'clear' }
  | { type: 'pause'; ms: number };

/** Fan-out of cache events (invalidate, clear, fetch done, Telegram pause) to every serving process. */
export interface Bus {
  publish(e: BusEvent): Promise<void>;
  onEvent(handler: (e: BusEvent) => void): void;
}
