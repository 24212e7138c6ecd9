import * as z from "zod/mini";
import { rpAppIdSchema as appId } from "../http/app-id";

const hex = z.string().check(z.maxLength(1024), z.regex(/^[0-9a-fA-F]*$/, "must be hexadecimal"));
const text = (max: number) => z.string().check(z.maxLength(max));

/** Opt-in: the response also carries the QR as an SVG image, for clients without a QR encoder. */
const includeQRImage = z._default(z.boolean(), false);

export const registrationRequestSchema = z.object({
  rpAppId: z.optional(appId),
  username: z.optional(text(256)),
  includeQRFallbackCode: z._default(z.boolean(), false),
  includeQRImage,
});

/** The vendor's out-of-band authentication request; unknown fields are ignored. */
export const authenticationRequestSchema = z.object({
  appId: z.optional(appId),
  namedUser: z.string().check(z.minLength(1), z.maxLength(256)),
  machine: z.optional(text(256)),
  machineId: z.optional(text(256)),
  sessionNonce: z.optional(hex),
  deviceNonce: z.optional(hex),
  serviceNonce: z.optional(hex),
  serviceHmac: z.optional(hex),
  actionId: z.optional(text(128)),
  additionalDetails: z.optional(z.record(z.string(), z.unknown())),
  includeQRFallbackCode: z._default(z.boolean(), false),
  includeQRImage,
});

/** Any string is accepted here: a code that is wrong in any way gets the one not-found answer. */
export const pendingQrRequestSchema = z.object({
  activationCode: z.string(),
});

// Responses: used by the OpenAPI document, so the reference shows what the routes return.
const epochMs = z.int();
const qrImageSvg = z.optional(z.string());

export const registrationResponseSchema = z.object({
  qrCode: z.string(),
  expirationTime: epochMs,
  qrImageSvg,
  qrFallbackActivationCode: z.optional(z.string()),
  /** The same code under the name a public HYPR client reads. */
  activationCode: z.optional(z.string()),
});

export const authenticationResponseSchema = z.object({
  status: z.object({ responseCode: z.literal(200), responseMessage: z.string() }),
  response: z.object({ requestId: z.uuid(), qrCode: z.string(), expirationTime: epochMs, qrImageSvg }),
  activationCode: z.optional(z.string()),
});

export const pendingQrResponseSchema = z.object({ qrCode: z.string() });
