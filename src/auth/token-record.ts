/** API tokens' scopes, ids and records: defined once in common/api-tokens.js (the CLI imports it too). */
import type { Scope, TokenRecord } from "../../common/api-tokens.js";

export {
  DEFAULT_APP_SCOPES,
  normalizeTokenRecord,
  SCOPES,
  TOKEN_ID_LENGTH,
  tokenIdOf,
} from "../../common/api-tokens.js";
export type { Scope, TokenRecord };

export const hasScope = (record: Pick<TokenRecord, "scopes">, scope: Scope) =>
  record.scopes.includes("admin") || record.scopes.includes(scope);
