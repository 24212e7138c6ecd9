/**
 * Faults a test switches on, applied by the test harness (test/harness-worker.ts) to the real
 * bindings the audit consumer gets: never a replacement of them. Tests that turn one on turn it off
 * in `finally`.
 */
export const faults = {
  /** The trail's database refuses every statement, as a database write-locked from outside does. */
  auditDbDown: false,
  /** When set, the event ids the consumer pushes to the event hooks' queue, in order. */
  hookDeliveries: null as string[] | null,
  /** The event hooks' queue refuses every send. */
  hookQueueDown: false,
};

function refusingDb(db: D1Database): D1Database {
  const refuse = () => Promise.reject(new Error("D1_ERROR: database is locked: SQLITE_BUSY (test fault)"));
  const statement = () => {
    const s = { bind: () => s, run: refuse, all: refuse, first: refuse, raw: refuse };
    return s as unknown as D1PreparedStatement;
  };
  return new Proxy(db, {
    get: (target, key) =>
      key === "prepare" ? statement : key === "batch" || key === "exec" ? refuse : Reflect.get(target, key),
  });
}

function refusingQueue(queue: Queue): Queue {
  return new Proxy(queue, {
    get: (target, key) =>
      key === "send" || key === "sendBatch"
        ? () => Promise.reject(new Error("queue unavailable (test fault)"))
        : Reflect.get(target, key),
  });
}

function recordingQueue(queue: Queue, into: string[]): Queue {
  return new Proxy(queue, {
    get: (target, key) =>
      key === "sendBatch"
        ? (messages: Iterable<MessageSendRequest<{ event: { id: string } }>>, options?: QueueSendBatchOptions) => {
            const list = [...messages];
            for (const m of list) into.push(m.body.event.id);
            return target.sendBatch(list, options);
          }
        : Reflect.get(target, key),
  });
}

/** The consumer's env with the faults switched on. */
export function withFaults<E extends { AUDIT_DB: D1Database; HOOK_QUEUE: Queue }>(env: E): E {
  let out = env;
  if (faults.auditDbDown) out = { ...out, AUDIT_DB: refusingDb(out.AUDIT_DB) };
  if (faults.hookDeliveries) out = { ...out, HOOK_QUEUE: recordingQueue(out.HOOK_QUEUE, faults.hookDeliveries) };
  if (faults.hookQueueDown) out = { ...out, HOOK_QUEUE: refusingQueue(out.HOOK_QUEUE) };
  return out;
}
