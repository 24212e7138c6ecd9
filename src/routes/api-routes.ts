import type { ApiRoute } from "../http/route";
import { getAppSettingsRoute, putAppSettingsRoute } from "./app-settings";
import { applicationsRoute, auditSearchRoute } from "./audit";
import { auditStatsRoute } from "./audit-stats";
import { createEventHookRoute, deleteEventHookRoute, listEventHooksRoute } from "./event-hooks";
import { pendingQrRoute } from "./pending-qr";
import { authenticationRoute, registrationRoute } from "./qr-create";
import { statusRoute } from "./status";
import { createTokenRoute, listTokensRoute, revokeTokenRoute } from "./tokens";

/**
 * Every API endpoint, each described once in its own file: app.ts registers them (and 405 for their
 * paths' other methods), src/docs/openapi.ts builds the OpenAPI document from them. A new endpoint
 * is one file and one line here.
 */
export const API_ROUTES: readonly ApiRoute[] = [
  registrationRoute,
  authenticationRoute,
  pendingQrRoute,
  auditSearchRoute,
  applicationsRoute,
  auditStatsRoute,
  getAppSettingsRoute,
  putAppSettingsRoute,
  createTokenRoute,
  listTokensRoute,
  revokeTokenRoute,
  createEventHookRoute,
  listEventHooksRoute,
  deleteEventHookRoute,
  statusRoute,
];
