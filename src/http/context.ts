import type { TokenRecord } from "../auth/token-store";

/** Hono environment shared by every route: bindings plus per-request variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    principal: TokenRecord & { tokenId: string };
  };
}
