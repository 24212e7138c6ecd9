/**
 * Each isolate's copy of the controls (revoked token ids, per-application settings), read from the
 * control database in one round trip. This is how a revocation or a settings change reaches every
 * Cloudflare location within CONTROLS_MAX_AGE_MS, which KV (up to 60 s stale) could not promise:
 *
 * - younger than CONTROLS_REFRESH_MS (5 s): used as it is;
 * - older: still used, and a fresh copy is read after the answer (waitUntil), so a busy isolate
 *   never makes a request wait for it;
 * - CONTROLS_MAX_AGE_MS (9 s) or older, or none: the request waits for a fresh copy; when the
 *   database cannot be read, 503 CONTROLS_UNAVAILABLE (an unverifiable token is not trusted).
 *
 * Ages count from when the read started, so a change committed at T is seen by every request
 * after T + 9 s. The isolate that made a change drops its copy at once (`invalidateControls`).
 */
import { AppError, ErrorCode } from "../http/errors";
import { joinShared } from "../lib/shared-promise";
import { readControls, type StoredSettings } from "./control-store";

export const CONTROLS_REFRESH_MS = 5_000;
export const CONTROLS_MAX_AGE_MS = 9_000;

export interface Controls {
  revokedTokenIds: ReadonlySet<string>;
  settingsOf(appId: string): StoredSettings | undefined;
}

interface Held {
  controls?: Controls;
  startedAt: number;
  reading?: Promise<void>;
  /** Bumped by invalidateControls: a read already under way then counts for nothing. */
  generation: number;
}

const held = new WeakMap<D1Database, Held>();

function read(db: D1Database, state: Held): Promise<void> {
  if (state.reading) return state.reading;
  const startedAt = Date.now();
  const generation = state.generation;
  state.reading = readControls(db, startedAt)
    .then(({ settings, revokedTokenIds }) => {
      if (generation !== state.generation) return;
      const byApp = new Map(settings.map((s) => [s.appId, s]));
      state.controls = { revokedTokenIds: new Set(revokedTokenIds), settingsOf: (appId) => byApp.get(appId) };
      state.startedAt = startedAt;
    })
    .finally(() => {
      if (generation === state.generation) state.reading = undefined;
    });
  return state.reading;
}

export async function controlsOf(db: D1Database, waitUntil: (p: Promise<unknown>) => void): Promise<Controls> {
  let state = held.get(db);
  if (!state) {
    state = { startedAt: 0, generation: 0 };
    held.set(db, state);
  }
  const age = Date.now() - state.startedAt;
  if (state.controls && age < CONTROLS_MAX_AGE_MS) {
    if (age >= CONTROLS_REFRESH_MS) waitUntil(read(db, state).catch(() => {}));
    return state.controls;
  }
  // A read started before an invalidation is superseded and lands nothing: then read once more.
  for (let attempt = 0; attempt < 2; attempt++) {
    await joinShared(read(db, state)).catch(() => {});
    if (state.controls && Date.now() - state.startedAt < CONTROLS_MAX_AGE_MS) return state.controls;
  }
  throw new AppError(ErrorCode.CONTROLS_UNAVAILABLE, "Token and application controls cannot be read; try again.", 5);
}

/** After this isolate changed a control: its next request reads them again. */
export function invalidateControls(db: D1Database): void {
  const state = held.get(db);
  if (!state) return;
  state.generation++;
  state.startedAt = 0;
  state.reading = undefined;
}
