import type { Bus, BusEvent } from '../model/events.js';
import type { RedisConnection } from './connection.js';

/** The bus over Redis pub/sub: every worker of every replica hears every event. */
export class RedisEvents implements Bus {
  /** Settles when the subscription is in place (true) or failed (false). */
  readonly subscribed: Promise<boolean>;
  readonly #handlers: Array<(e: BusEvent) => void> = [];
  readonly #channel: string;

  constructor(private readonly conn: RedisConnection) {
    this.#channel = conn.key('events');
    conn.sub.on('message', (_ch: string, msg: string) => this.#dispatch(msg));
    this.subscribed = conn.sub.subscribe(this.#channel).then(
      () => true,
      () => false,
    );
  }

  onEvent(handler: (e: BusEvent) => void): void {
    this.#handlers.push(handler);
  }

  async publish(e: BusEvent): Promise<void> {
    await this.conn.safe(async (c) => c.publish(this.#channel, JSON.stringify(e)), 0);
  }

  #dispatch(msg: string): void {
    let e: BusEvent;
    try {
      e = JSON.parse(msg) as BusEvent;
    } catch {
      return;
    }
    for (const h of this.#handlers) h(e);
  }
}
