import { z } from "zod";

const appId = z.string().trim().min(1).max(128);
const hex = z
  .string()
  .max(1024)
  .regex(/^[0-9a-fA-F]*$/, "must be hexadecimal");

export const registrationRequestSchema = z.object({
  rpAppId: appId.optional(),
  username: z.string().max(256).optional(),
  includeQRFallbackCode: z.boolean().default(false),
});

/** The vendor's out-of-band authentication request; unknown fields are ignored. */
export const authenticationRequestSchema = z.object({
  appId: appId.optional(),
  namedUser: z.string().min(1).max(256),
  machine: z.string().max(256).optional(),
  machineId: z.string().max(256).optional(),
  sessionNonce: hex.optional(),
  deviceNonce: hex.optional(),
  serviceNonce: hex.optional(),
  serviceHmac: hex.optional(),
  actionId: z.string().max(128).optional(),
  additionalDetails: z.record(z.string(), z.unknown()).optional(),
  includeQRFallbackCode: z.boolean().default(false),
});

/** Any string is accepted here: a code that is wrong in any way gets the one not-found answer. */
export const pendingQrRequestSchema = z.object({
  activationCode: z.string(),
});
