// The geographic model's inputs (issue #28): the nine location-hint regions, where Cloudflare places an
// object hinted for each, and round trips between them. Sources and dates: BENCHMARKS.md, "Geo model".

/** The location hints Durable Objects accept (developers.cloudflare.com/durable-objects/reference/data-location/). */
export { REGIONS } from "../../common/regions.js";

/**
 * Hints where objects do not spawn: "Durable Objects hinted to South America spawn in Eastern North
 * America instead" (same page, footnote 2, which names afr and me too): each lands in the nearest
 * region that hosts objects, by the round trips below.
 */
export const NO_OBJECTS = new Set(["sam", "afr", "me"]);

/**
 * Each region stands for an AWS region in the round-trip sample: cloudping.co's p50 grid as embedded in
 * libp2p/jvm-libp2p tools/simulator/.../aws/AwsLatencies.kt (commit 267a4d4), rows and columns in
 * AWS_ORDER. Eastern Europe has no AWS region: Frankfurt stands for it.
 */
export const PROXY = {
  wnam: "us-west-1",
  enam: "us-east-1",
  sam: "sa-east-1",
  weur: "eu-west-2",
  eeur: "eu-central-1",
  apac: "ap-southeast-1",
  oc: "ap-southeast-2",
  afr: "af-south-1",
  me: "me-south-1",
};

const AWS_ORDER = [
  "af-south-1",
  "ap-east-1",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ap-south-1",
  "ap-southeast-1",
  "ap-southeast-2",
  "ca-central-1",
  "eu-central-1",
  "eu-north-1",
  "eu-south-1",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "me-south-1",
  "sa-east-1",
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
];

/** The sample's rows for the nine proxies (ms, round trip, p50), as published. */
const ROWS = {
  "af-south-1": [3, 240, 353, 381, 360, 155, 201, 411, 224, 159, 176, 168, 158, 146, 150, 143, 342, 231, 241, 290, 273],
  "ap-southeast-1": [205, 39, 69, 69, 75, 58, 4, 93, 209, 157, 177, 148, 182, 171, 166, 85, 322, 213, 200, 172, 162],
  "ap-southeast-2": [
    412, 128, 109, 141, 118, 146, 93, 1, 198, 249, 294, 238, 256, 264, 279, 176, 312, 198, 187, 138, 140,
  ],
  "eu-central-1": [162, 189, 223, 223, 230, 110, 158, 249, 92, 2, 22, 12, 26, 17, 12, 87, 204, 91, 102, 151, 141],
  "eu-west-2": [148, 202, 210, 238, 216, 111, 171, 265, 78, 17, 32, 25, 13, 1, 9, 87, 186, 76, 86, 147, 128],
  "me-south-1": [147, 122, 162, 159, 168, 35, 87, 179, 163, 85, 105, 78, 96, 87, 79, 1, 271, 160, 170, 220, 212],
  "sa-east-1": [343, 299, 256, 285, 263, 297, 322, 311, 125, 204, 215, 214, 177, 186, 194, 273, 1, 113, 124, 173, 174],
  "us-east-1": [232, 188, 146, 174, 150, 186, 211, 199, 15, 92, 111, 102, 70, 76, 82, 160, 114, 4, 13, 62, 64],
  "us-west-1": [292, 146, 108, 128, 109, 227, 171, 139, 79, 151, 173, 160, 128, 147, 142, 220, 171, 62, 50, 3, 22],
};

/**
 * A request's leg inside one region (its Cloudflare location to an object's host in the same region):
 * the sample's nearest other AWS region of that area (us-east-1/us-east-2, us-west-1/us-west-2,
 * eu-west-2/eu-west-3, eu-central-1/eu-north-1, ap-southeast-1/ap-east-1); 15 ms assumed for oc.
 */
export const IN_REGION_MS = { wnam: 22, enam: 13, weur: 9, eeur: 22, apac: 39, oc: 15, sam: 15, afr: 15, me: 15 };

/** Round trip (ms) between two regions' proxies: the mean of the sample's two directions. */
export function rttMs(a, b) {
  if (a === b) return IN_REGION_MS[a];
  const i = AWS_ORDER.indexOf(PROXY[a]);
  const j = AWS_ORDER.indexOf(PROXY[b]);
  return (ROWS[PROXY[a]][j] + ROWS[PROXY[b]][i]) / 2;
}

/**
 * A phone to its nearest Cloudflare location: 40 ms, the figure calpaterson.com/latency.html (Feb
 * 2021) assumes for a mobile user to a CDN; applied in every region (Cloudflare has locations in each).
 */
export const PHONE_TO_EDGE_MS = 40;

/** The bindings' latencies, as the edge model's (bench/edge/latency.ts, sources in BENCHMARKS.md). */
export const BINDING_MS = { kvCold: 30, kvHot: 1, kvWrite: 30, rateLimit: 1 };

/** The Worker's own time per request besides its waits (local CPU per request is 2-2.5 ms: BENCHMARKS.md). */
export const WORKER_MS = 2.5;
/** An object's own time per call (SQLite statements, no network). Assumption. */
export const OBJECT_MS = 1;

/**
 * Each region's share of the workstations and phones (where a phone that is away is), roughly where
 * people are; the index characters are split evenly whatever the traffic (common/regions.js).
 */
export const DEFAULT_WEIGHTS = {
  wnam: 0.14,
  enam: 0.2,
  sam: 0.08,
  weur: 0.2,
  eeur: 0.08,
  apac: 0.18,
  oc: 0.04,
  afr: 0.03,
  me: 0.05,
};
