/** Every key under a prefix with its list metadata, following KV's list cursor. */
export async function listKeys<T>(kv: KVNamespace, prefix: string): Promise<{ name: string; metadata?: T }[]> {
  const out: { name: string; metadata?: T }[] = [];
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<T> = await kv.list<T>({ prefix, cursor });
    for (const key of page.keys) out.push({ name: key.name, metadata: key.metadata });
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return out;
}

/** The list metadata of every key under a prefix (records that carry themselves as metadata are
 * listed without one read per key). */
export async function listMetadata<T>(kv: KVNamespace, prefix: string): Promise<T[]> {
  return (await listKeys<T>(kv, prefix)).flatMap((k) => (k.metadata ? [k.metadata] : []));
}
