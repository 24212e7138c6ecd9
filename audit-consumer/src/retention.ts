import {
  COUNT_LOGGED_BETWEEN,
  DELETE_LOGGED_BETWEEN,
  OLDEST_LOGGED,
  PAGE_LOGGED_BETWEEN,
  withLoggedTime,
} from "../../common/audit-contract";

/** Retention runs on this cron (audit-consumer/wrangler.toml); the other one, every minute, replays what the dead-letter queue held. */
export const RETENTION_CRON = "15 * * * *";

const DAY_MS = 86_400_000;

export interface RetentionOptions {
  retentionDays: number;
  now?: number;
  /** Days archived per run, and rows deleted per run: a run stays within a Worker's limits. */
  maxDays?: number;
  maxDeletes?: number;
  deleteBatch?: number;
  pageSize?: number;
  /** Compressed bytes per multipart part (R2 wants at least 5 MiB for all but the last). */
  partBytes?: number;
}

export interface RetentionResult {
  archived: string[];
  deleted: number;
}

/** `audit/v1/YYYY/MM/DD.ndjson.gz`: keys sort by day, so a listing is the archive in time order. */
export function archiveKey(dayStart: number): string {
  const d = new Date(dayStart);
  const two = (n: number) => String(n).padStart(2, "0");
  return `audit/v1/${d.getUTCFullYear()}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}.ndjson.gz`;
}

/**
 * Moves whole UTC days older than `retentionDays` out of D1: each day becomes one gzip NDJSON object
 * in R2 (the events as the search API returns them), written before any of its rows is deleted. A
 * day whose object already exists is not written again (a run that stopped between the write and
 * the deletes resumes with the deletes), so re-running never loses nor duplicates events: a past
 * day gets no new rows, since loggedTimeInUTC is the time of the write.
 */
export async function archiveExpiredDays(
  db: D1Database,
  bucket: R2Bucket,
  options: RetentionOptions,
): Promise<RetentionResult> {
  const now = options.now ?? Date.now();
  const cutoff = Math.floor(now / DAY_MS) * DAY_MS - options.retentionDays * DAY_MS;
  const result: RetentionResult = { archived: [], deleted: 0 };
  let deleteBudget = options.maxDeletes ?? 50_000;
  for (let day = 0; day < (options.maxDays ?? 3) && deleteBudget > 0; day++) {
    const oldest = (await db.prepare(OLDEST_LOGGED).first<{ oldest: number | null }>())?.oldest ?? null;
    if (oldest === null || oldest >= cutoff) break;
    const dayStart = Math.floor(oldest / DAY_MS) * DAY_MS;
    const dayEnd = dayStart + DAY_MS;
    const key = archiveKey(dayStart);
    if ((await bucket.head(key)) === null) {
      await writeDay(db, bucket, key, dayStart, dayEnd, options);
      result.archived.push(key);
    }
    const batch = options.deleteBatch ?? 500;
    for (;;) {
      const limit = Math.min(batch, deleteBudget);
      if (limit <= 0) break;
      const { meta } = await db.prepare(DELETE_LOGGED_BETWEEN).bind(dayStart, dayEnd, limit).run();
      result.deleted += meta.changes;
      deleteBudget -= meta.changes;
      if (meta.changes < limit) break;
    }
  }
  return result;
}

/** Streams a day's rows, page by page, through gzip into one R2 object (multipart when large). */
async function writeDay(
  db: D1Database,
  bucket: R2Bucket,
  key: string,
  dayStart: number,
  dayEnd: number,
  options: RetentionOptions,
): Promise<void> {
  const expected = (await db.prepare(COUNT_LOGGED_BETWEEN).bind(dayStart, dayEnd).first<{ n: number }>())?.n ?? 0;
  const gzip = new CompressionStream("gzip");
  const writer = gzip.writable.getWriter();
  const encoder = new TextEncoder();
  let written = 0;
  const produce = (async () => {
    let after: [number, number, string] = [dayStart - 1, 0, ""];
    const page = db.prepare(PAGE_LOGGED_BETWEEN);
    for (;;) {
      const { results } = await page
        .bind(dayStart, dayEnd, ...after, options.pageSize ?? 1_000)
        .all<{ body: string; loggedTimeInUTC: number; eventTimeInUTC: number; id: string }>();
      if (results.length === 0) break;
      const lines = results.map((r) => JSON.stringify(withLoggedTime(JSON.parse(r.body), r.loggedTimeInUTC)));
      await writer.write(encoder.encode(`${lines.join("\n")}\n`));
      written += results.length;
      const last = results[results.length - 1];
      after = [last.loggedTimeInUTC, last.eventTimeInUTC, last.id];
    }
    await writer.close();
  })();
  const metadata = () => ({ events: String(written), dayStartUTC: new Date(dayStart).toISOString() });
  const partBytes = options.partBytes ?? 8 * 1024 * 1024;
  const reader = gzip.readable.getReader();
  let buffered: Uint8Array[] = [];
  let size = 0;
  let upload: R2MultipartUpload | null = null;
  const parts: R2UploadedPart[] = [];
  const flush = async () => {
    upload ??= await bucket.createMultipartUpload(key, { customMetadata: metadata() });
    parts.push(await upload.uploadPart(parts.length + 1, concat(buffered, size)));
    buffered = [];
    size = 0;
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffered.push(value);
      size += value.byteLength;
      if (size >= partBytes) await flush();
    }
    await produce;
    if (written !== expected) throw new Error(`day ${key}: read ${written} events, counted ${expected}`);
    if (upload === null) {
      await bucket.put(key, concat(buffered, size), { customMetadata: metadata() });
    } else {
      if (size > 0) await flush();
      await (upload as R2MultipartUpload).complete(parts);
    }
  } catch (err) {
    await (upload as R2MultipartUpload | null)?.abort().catch(() => undefined);
    throw err;
  }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}
