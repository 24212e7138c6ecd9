/**
 * Client addresses as an attacker pays for them: one IPv4 address is one client, but an IPv6 host
 * usually holds a whole /64, so that is one client; the networks around them (IPv4 /24, IPv6 /48,
 * what one subscriber or site typically gets) are keyed too. The same /24 and /48 are what the audit
 * trail keeps of an address.
 */
const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export type ParsedIp = { v: 4; octets: number[] } | { v: 6; groups: string[] };

export function parseIp(ip: string | null | undefined): ParsedIp | null {
  if (!ip) return null;
  const v4 = V4.exec(ip);
  if (v4) {
    const octets = v4.slice(1).map(Number);
    return octets.every((p) => p <= 255) ? { v: 4, octets } : null;
  }
  const groups = expandIpv6(ip);
  return groups ? { v: 6, groups } : null;
}

/** The eight groups of an IPv6 address, lowercase without leading zeros; null if it is not one. */
export function expandIpv6(ip: string): string[] | null {
  if (!/^[0-9a-fA-F:.]+$/.test(ip) || ip.split("::").length > 2) return null;
  let text = ip.toLowerCase();
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const tail = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (tail) {
    const b = tail.slice(1).map(Number);
    if (b.some((x) => x > 255)) return null;
    text = `${text.slice(0, tail.index)}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, rest] = text.split("::");
  const left = head ? head.split(":") : [];
  const right = rest ? rest.split(":") : [];
  const missing = 8 - left.length - right.length;
  if (rest === undefined ? missing !== 0 : missing < 1) return null;
  const groups = [...left, ...Array(rest === undefined ? 0 : missing).fill("0"), ...right];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => g.replace(/^0+(?=.)/, ""));
}

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 client it maps. */
function unmapped(ip: ParsedIp): ParsedIp {
  if (ip.v === 6 && ip.groups.slice(0, 5).every((g) => g === "0") && ip.groups[5] === "ffff") {
    const [hi, lo] = [parseInt(ip.groups[6], 16), parseInt(ip.groups[7], 16)];
    return { v: 4, octets: [hi >> 8, hi & 255, lo >> 8, lo & 255] };
  }
  return ip;
}

/**
 * The keys limits count under, from one parse: the client (IPv4 address, or IPv6 /64) and its
 * network, with its own larger limits (IPv4 /24, IPv6 /48). Unparsable addresses share one key.
 */
/** Who a lookup is counted against: its client and its network (the keys the limits and caps use). */
export interface LookupClient {
  /** IPv4 address or IPv6 /64. */
  client: string;
  /** IPv4 /24 or IPv6 /48. */
  network: string;
}

export function clientKeysOf(raw: string | null | undefined): LookupClient {
  const ip = parseIp(raw);
  if (!ip) return { client: "unknown", network: "unknown" };
  const u = unmapped(ip);
  return u.v === 4
    ? { client: u.octets.join("."), network: `${u.octets.slice(0, 3).join(".")}.0/24` }
    : { client: `${u.groups.slice(0, 4).join(":")}::/64`, network: `${u.groups.slice(0, 3).join(":")}::/48` };
}

export const clientKeyOf = (raw: string | null | undefined): string => clientKeysOf(raw).client;
export const networkKeyOf = (raw: string | null | undefined): string => clientKeysOf(raw).network;
