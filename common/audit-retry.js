// The audit queue's retry schedule, shared by the consumer and the check that it outlasts an outage.

/**
 * Delay before redelivering a batch the trail's database refused: 2, 4, 8 ... seconds, each at most
 * `capSeconds` (AUDIT_RETRY_MAX_DELAY_SECONDS).
 * @param {number} attempts the message's delivery attempts so far
 * @param {number} capSeconds
 */
export const retryDelaySeconds = (attempts, capSeconds) => Math.min(capSeconds, 2 ** Math.max(1, attempts));

/**
 * How long a batch is retried before the dead-letter queue, in seconds.
 * @param {number} maxRetries the queue consumer's max_retries
 * @param {number} capSeconds
 */
export const retrySpanSeconds = (maxRetries, capSeconds) => {
  let total = 0;
  for (let attempts = 1; attempts <= maxRetries; attempts++) total += retryDelaySeconds(attempts, capSeconds);
  return total;
};

/** The shipped schedule must ride out an outage of this long without reaching the dead-letter queue. */
export const OUTAGE_RIDDEN_OUT_SECONDS = 600;
