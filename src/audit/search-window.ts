import { searchCursorKey, searchOrderKey } from "../../common/kv-keys.js";
import { sha256Hex } from "../lib/encoding";
import { DEFAULT_ORDER, type PageCursor, type SearchFilter, type SearchOrder } from "./search";

/**
 * What the API remembers about a search window a client is paging through, for an hour:
 * - its order, fixed by the first page read, so later pages that omit or change orderBy/sortDir
 *   still tile the same sequence;
 * - the sort key of the last row of each page served, so the next page is a keyset query
 *   (no OFFSET: a deep page costs what the first one does).
 */
const REMEMBER_SECONDS = 3600;

export async function windowId(tokenId: string, filter: SearchFilter): Promise<string> {
  return sha256Hex(
    JSON.stringify([tokenId, filter.rpAppId, filter.startTSUTC, filter.endTSUTC, filter.eventName ?? null]),
  );
}

/** The window's order, and the cursor ending the previous page if one was served. */
export async function windowState(
  kv: KVNamespace,
  id: string,
  requested: Partial<SearchOrder>,
  page: { pageSize: number; pageNumber: number },
): Promise<{ order: SearchOrder; after: PageCursor | null; remembered: boolean }> {
  const [remembered, after] = await Promise.all([
    kv.get<SearchOrder>(searchOrderKey(id), "json"),
    page.pageNumber > 1 ? kv.get<PageCursor>(searchCursorKey(id, page.pageSize, page.pageNumber - 1), "json") : null,
  ]);
  if (remembered) return { order: remembered, after, remembered: true };
  const order: SearchOrder = {
    orderBy: requested.orderBy ?? DEFAULT_ORDER.orderBy,
    sortDir: requested.sortDir ?? DEFAULT_ORDER.sortDir,
  };
  // A cursor without a remembered order was made for some other order: ignore it.
  return { order, after: null, remembered: false };
}

/** Awaited before the first page is answered, so the client's next request already sees it. */
export function rememberOrder(kv: KVNamespace, id: string, order: SearchOrder): Promise<void> {
  return kv.put(searchOrderKey(id), JSON.stringify(order), { expirationTtl: REMEMBER_SECONDS });
}

/** Best-effort (run after the response): without it the next page falls back to OFFSET, same rows. */
export function rememberCursor(
  kv: KVNamespace,
  id: string,
  page: { pageSize: number; pageNumber: number },
  last: PageCursor,
): Promise<void> {
  return kv.put(searchCursorKey(id, page.pageSize, page.pageNumber), JSON.stringify(last), {
    expirationTtl: REMEMBER_SECONDS,
  });
}
