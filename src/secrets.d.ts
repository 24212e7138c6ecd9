// Worker secrets are not in wrangler.toml, so `wrangler types` cannot see them: declared here.
declare namespace Cloudflare {
  interface Env {
    /** HKDF input for the pending-store keys; `wrangler secret put SERVER_SECRET` in production. */
    SERVER_SECRET: string;
  }
}
