import cluster from 'node:cluster';
import type { Bus, BusEvent } from './model/events.js';

/** One process: events go straight to its own handlers. */
export function localBus(): Bus {
  const handlers: Array<(e: BusEvent) => void> = [];
  return {
    publish: async (e) => {
      for (const h of handlers) h(e);
    },
    onEvent: (h) => void handlers.push(h),
  };
}

const TAG = 'bus:event';

/** A cluster worker without Redis: the primary relays each event to all workers, the sender included. */
export function clusterBus(): Bus {
  const handlers: Array<(e: BusEvent) => void> = [];
  process.on('message', (m: unknown) => {
    const msg = m as { type?: string; event?: BusEvent };
    if (msg?.type === TAG && msg.event) for (const h of handlers) h(msg.event);
  });
  return {
    publish: async (event) => void process.send!({ type: TAG, event }),
    onEvent: (h) => void handlers.push(h),
  };
}

/** Primary side of clusterBus. */
export function relayBusEvents(): void {
  cluster.on('message', (_from, m: unknown) => {
    if ((m as { type?: string })?.type !== TAG) return;
    for (const w of Object.values(cluster.workers ?? {})) if (w?.isConnected()) w.send(m as object);
  });
}
