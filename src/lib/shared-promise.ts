/**
 * Awaits, from this request, a promise another request may have started (a single-flight lease or
 * read kept at isolate level). Two rules of workerd make a plain `await` of it wrong:
 * - a promise's reactions run in the request that created it: awaiting another request's pending
 *   promise resumes this request inside that one, where its own I/O fails ("Cannot perform I/O on
 *   behalf of a different request"); a promise made here and settled from there resumes here;
 * - a request waiting only on another request's work has no I/O of its own pending, and the runtime
 *   cancels it as hung (500).
 * So the wait goes through a promise of this request, raced with a timer of this request (which also
 * bounds it). Measured with 20,000 concurrent misses: 116-216 answers of 500 without this, none with.
 */
/** How long a request waits at most for another request's call (then the caller fails closed). */
export const SHARED_WAIT_MS = 5_000;

export async function joinShared<T>(shared: Promise<T>, maxWaitMs = SHARED_WAIT_MS): Promise<T> {
  let timer: number | null = null;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`a shared call was still pending after ${maxWaitMs} ms`)), maxWaitMs);
  });
  try {
    return await Promise.race([new Promise<T>((resolve, reject) => shared.then(resolve, reject)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
