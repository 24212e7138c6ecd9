import { sha256Hex } from "../lib/encoding";
import { DEFAULT_ORDER, type SearchFilter, type SearchOrder } from "./search";

/**
 * The order of a search window is fixed by the first page a client reads and remembered for an hour,
 * so later pages that omit (or change) orderBy/sortDir still tile the same sequence.
 */
export const SEARCH_ORDER_PREFIX = "searchorder:v1:";
const REMEMBER_SECONDS = 3600;

async function windowKey(tokenId: string, filter: SearchFilter): Promise<string> {
  const id = JSON.stringify([tokenId, filter.rpAppId, filter.startTSUTC, filter.endTSUTC, filter.eventName ?? null]);
  return SEARCH_ORDER_PREFIX + (await sha256Hex(id));
}

export async function windowOrder(
  kv: KVNamespace,
  tokenId: string,
  filter: SearchFilter,
  requested: Partial<SearchOrder>,
): Promise<SearchOrder> {
  const key = await windowKey(tokenId, filter);
  const remembered = await kv.get<SearchOrder>(key, "json");
  if (remembered) return remembered;
  const order: SearchOrder = {
    orderBy: requested.orderBy ?? DEFAULT_ORDER.orderBy,
    sortDir: requested.sortDir ?? (requested.orderBy ? "asc" : DEFAULT_ORDER.sortDir),
  };
  await kv.put(key, JSON.stringify(order), { expirationTtl: REMEMBER_SECONDS });
  return order;
}
