import type { TokenRecord } from "../auth/token-record";
import type { Controls } from "../controls/controls-snapshot";
import type { LookupClient } from "../lib/ip";

/** Hono environment shared by every route: bindings plus per-request variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    /** The caller's token (never the token itself), set by requireScope. */
    principal: TokenRecord;
    /** This isolate's controls snapshot, as requireScope checked the token against it. */
    controls: Controls;
    /** The lookup's client and network, keyed once by limitLookups. */
    lookupClient: LookupClient;
  };
}
