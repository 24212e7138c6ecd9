import type { QueuedAuditEvent } from "../../common/audit-contract";
import { batcherPerBinding, MAX_DRAIN_MS } from "../lib/count-batcher";
import { handOffAuditEvents, MAX_SEND_BATCH } from "./hand-off";

/** What travels with each event: where a failed send's events go, and how long a drain lingers. */
export interface AuditSendSettings {
  kv: KVNamespace;
  lingerMs: number;
}

/**
 * A request's audit events, handed to the Queue in batches per isolate (AUDIT_BATCH_MS): the first
 * event that finds no drain running starts one in its request's `waitUntil`; it lingers, then sends
 * everything pending in `sendBatch`es of MAX_SEND_BATCH (handOffAuditEvents: the outbox catches a
 * failed or stalled send), and goes on while events keep coming. Events that arrive meanwhile ride
 * along, so a busy isolate makes one Queue call per linger instead of one per request. Each
 * `sendBatch` is one subrequest; locally a send was the largest single cost of a create
 * (BENCHMARKS.md, 0.5.0).
 *
 * Nothing is stranded: a drain stops only when it finds nothing pending, in the same turn in which
 * it steps down, so a later event always starts a new one. A drain older than `maxDrainMs` hands
 * over to the next event's request (the runtime ends a `waitUntil` 30 s after its answer) and only
 * finishes the send it has in flight. What can be lost is in docs/audit-events.md.
 */
export class AuditSendBatcher {
  private pending: QueuedAuditEvent[] = [];
  private settings: AuditSendSettings | undefined;
  /** The drain that takes what is pending, and when it started; null when none runs. */
  private active: { startedAt: number } | null = null;

  constructor(
    private readonly queue: Queue,
    private readonly maxDrainMs = MAX_DRAIN_MS,
  ) {}

  add(event: QueuedAuditEvent, settings: AuditSendSettings, waitUntil: (p: Promise<unknown>) => void): void {
    this.pending.push(event);
    this.settings = settings;
    if (this.active && Date.now() - this.active.startedAt < this.maxDrainMs) return;
    const drain = { startedAt: Date.now() };
    this.active = drain;
    waitUntil(this.drain(drain, waitUntil));
  }

  private async drain(me: { startedAt: number }, waitUntil: (p: Promise<unknown>) => void): Promise<void> {
    for (;;) {
      const { kv, lingerMs } = this.settings as AuditSendSettings;
      await new Promise((resolve) => setTimeout(resolve, lingerMs));
      if (this.active !== me) return; // handed over: the next drain takes what is pending
      if (this.pending.length === 0) {
        this.active = null;
        return;
      }
      const events = this.pending;
      this.pending = [];
      const batches = [];
      for (let i = 0; i < events.length; i += MAX_SEND_BATCH) batches.push(events.slice(i, i + MAX_SEND_BATCH));
      await Promise.all(batches.map((batch) => handOffAuditEvents(this.queue, kv, batch, waitUntil)));
    }
  }
}

/** The isolate's batcher for a queue binding. */
export const auditSendsOf = batcherPerBinding((queue: Queue) => new AuditSendBatcher(queue));
