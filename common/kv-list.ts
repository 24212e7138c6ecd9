/** The list metadata of every key under a prefix, following KV's list cursor (records that carry
 * themselves as metadata are listed without one read per key). */
export async function listMetadata<T>(kv: KVNamespace, prefix: string): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<T> = await kv.list<T>({ prefix, cursor });
    for (const key of page.keys) if (key.metadata) out.push(key.metadata);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return out;
}
