import type { TokenRecord } from "../auth/token-store";
import type { LookupClient } from "../security/client-limits";

/** Hono environment shared by every route: bindings plus per-request variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    principal: TokenRecord & { tokenId: string };
    /** The lookup's client and network, keyed once by limitLookups. */
    lookupClient: LookupClient;
  };
}
