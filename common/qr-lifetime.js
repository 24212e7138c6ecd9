// The longest a QR code, and so its activation code and claim, may live: the deployment's
// QR_TTL_SECONDS, or an application's own lifetime up to this one (src/controls/app-settings.ts).
// Plain JavaScript so `npm run deploy` knows it too: a change of claim sharding waits this long.

/** Longer-lived codes give guessers more live targets (SECURITY.md assumes the default, 180 s). */
export const MAX_APP_QR_TTL_SECONDS = 600;
