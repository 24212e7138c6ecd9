// Where codes are claimed: the nine Durable Object location hints, which of them holds each part of
// the index space, and the hint for a request's location (`request.cf`, which has no hint field).
// Plain JavaScript so the bench's geographic model imports the same rule (docs/storage.md).

/** @typedef {"wnam" | "enam" | "sam" | "weur" | "eeur" | "apac" | "oc" | "afr" | "me"} Region */

/** The location hints (developers.cloudflare.com/durable-objects/reference/data-location/). */
export const REGIONS = /** @type {const} */ (["wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"]);

/** The first character of an index id (base64url of an HMAC-SHA-256), in alphabet order. */
const INDEX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * The region holding the claims of index ids starting with each character: consecutive runs of 7 or
 * 8 characters per region, so a region's share of the index space is its characters / 64.
 * @type {Map<string, Region>}
 */
const REGION_OF_CHAR = new Map(
  [...INDEX_ALPHABET].map((c, i) => [c, REGIONS[Math.floor((i * REGIONS.length) / INDEX_ALPHABET.length)]]),
);

/**
 * The region whose shards hold the claim of this index id.
 * @param {string} indexId
 * @returns {Region}
 */
export function regionOfIndex(indexId) {
  const region = REGION_OF_CHAR.get(indexId.slice(0, 1));
  if (!region) throw new Error("an index id is base64url");
  return region;
}

/** The region of each first character's base64url value (0..63), in alphabet order. */
const REGION_OF_BITS = [...INDEX_ALPHABET].map((c) => /** @type {Region} */ (REGION_OF_CHAR.get(c)));

/**
 * The region of an index id from the first byte of its HMAC, without encoding it: the id's first
 * character is that byte's top 6 bits, so this is regionOfIndex(base64url(mac)).
 * @param {number} firstByte
 * @returns {Region}
 */
export const regionOfIndexByte = (firstByte) => REGION_OF_BITS[firstByte >> 2];

/**
 * The index character whose base64url value is `bits`' low 6 bits.
 * @param {number} bits
 */
export const indexCharOfBits = (bits) => INDEX_ALPHABET[bits & 63];

/**
 * The index characters a region holds.
 * @param {Region} region
 */
export const charsOfRegion = (region) => [...INDEX_ALPHABET].filter((c) => REGION_OF_CHAR.get(c) === region);

/** @param {unknown} value */
export const isRegion = (value) => /** @type {readonly unknown[]} */ (REGIONS).includes(value);

/** Countries of the Middle East hint (the rest of Asia is apac). */
const MIDDLE_EAST = new Set("AE BH CY EG IL IQ IR JO KW LB OM PS QA SA SY TR YE".split(" "));

/**
 * The hint nearest to where a request entered Cloudflare (`request.cf`: continent, country,
 * longitude), or `fallback` when the runtime gives no location (locally).
 * @param {{ continent?: unknown, country?: unknown, longitude?: unknown } | undefined} cf
 * @param {Region} fallback
 * @returns {Region}
 */
export function regionOfRequest(cf, fallback) {
  const country = typeof cf?.country === "string" ? cf.country : "";
  const longitude = Number(cf?.longitude);
  if (MIDDLE_EAST.has(country)) return "me";
  switch (cf?.continent) {
    case "NA":
      // The Rockies split the two North American regions.
      return Number.isFinite(longitude) && longitude < -105 ? "wnam" : "enam";
    case "SA":
      return "sam";
    case "EU":
      return Number.isFinite(longitude) && longitude >= 20 ? "eeur" : "weur";
    case "AS":
      return "apac";
    case "OC":
    case "AN":
      return "oc";
    case "AF":
      return "afr";
    default:
      return fallback;
  }
}
