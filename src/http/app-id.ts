import * as z from "zod/mini";
import { RP_APP_ID, RP_APP_ID_RULE } from "../../common/rp-app-id.js";

/** The one schema of an RP application id, in every request (common/rp-app-id.js has the rule). */
export const rpAppIdSchema = z.string().check(z.regex(RP_APP_ID, `must be an RP application id: ${RP_APP_ID_RULE}`));
