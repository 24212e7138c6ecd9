/** What an API token may do (SPEC §7): `admin` is everything, for every application. */
export const SCOPES = ["qr:create", "audit:read", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** An application token made without --scope / scopes keeps what every token could do before scopes. */
export const DEFAULT_APP_SCOPES: Scope[] = ["qr:create", "audit:read"];

/** A token as stored (by the SHA-256 of the token in KV, by id in the registry): never the token. */
export interface TokenRecord {
  /** The first 16 hex characters of the token's SHA-256: what lists, the trail and `revoke` use. */
  id: string;
  /** The application it acts for; null for admin tokens (bound to none). */
  rpAppId: string | null;
  scopes: Scope[];
  label: string;
  createdAt: number;
  /** Epoch ms after which it is refused; null = never expires. */
  expiresAt: number | null;
}

export const TOKEN_ID_LENGTH = 16;
export const tokenIdOf = (tokenHash: string) => tokenHash.slice(0, TOKEN_ID_LENGTH);

/** Records written before scopes ({rpAppId, admin, label, createdAt}) read as the same powers. */
export function normalizeTokenRecord(raw: Record<string, unknown>, tokenHash: string): TokenRecord {
  const admin = raw.admin === true;
  const scopes = Array.isArray(raw.scopes)
    ? (raw.scopes.filter((s) => (SCOPES as readonly unknown[]).includes(s)) as Scope[])
    : admin
      ? (["admin"] as Scope[])
      : DEFAULT_APP_SCOPES;
  return {
    id: tokenIdOf(tokenHash),
    rpAppId: typeof raw.rpAppId === "string" && !scopes.includes("admin") ? raw.rpAppId : null,
    scopes,
    label: typeof raw.label === "string" ? raw.label : "",
    createdAt: typeof raw.createdAt === "number" ? raw.createdAt : 0,
    expiresAt: typeof raw.expiresAt === "number" ? raw.expiresAt : null,
  };
}

export const hasScope = (record: Pick<TokenRecord, "scopes">, scope: Scope) =>
  record.scopes.includes("admin") || record.scopes.includes(scope);
