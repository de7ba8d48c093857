/**
 * @internal
 * The UDP rules of both Effect editions, Effect-free: TTL range, what names an outgoing
 * multicast interface, the payload limit per family, and a family as Node's number.
 */
import { ipFamily } from "./driver/dns.js"

/** @internal A TTL is an integer hop count; Node would silently truncate 1.5. */
export const checkTtl = (ttl: number): number => {
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) {
    throw new RangeError(`ttl must be an integer from 1 to 255 (got ${ttl})`)
  }
  return ttl
}

/**
 * @internal
 * Why `address` cannot name an outgoing multicast interface of a `family` socket, if it cannot:
 * IPv4 wants an interface's IPv4 address; IPv6 an address with an optional `%scope` ("::%eth0").
 */
export const badInterface = (address: unknown, family: "IPv4" | "IPv6"): string | undefined => {
  if (typeof address !== "string") return "must be a string"
  if (family === "IPv4") return ipFamily(address) === 4 ? undefined : "must be an IPv4 address on an IPv4 socket"
  const percent = address.indexOf("%")
  const ip = percent === -1 ? address : address.slice(0, percent)
  if (percent !== -1 && percent === address.length - 1) return "the scope after % is empty"
  return ipFamily(ip) === 6 ? undefined : "must be an IPv6 address (optionally with %scope) on an IPv6 socket"
}

/** @internal A family as Node numbers it (0: either). */
export const familyNumber = (family: "IPv4" | "IPv6" | undefined): 0 | 4 | 6 =>
  family === "IPv4" ? 4 : family === "IPv6" ? 6 : 0

/**
 * @internal
 * The largest UDP payload. IPv4: 65,535 less the IP (20) and UDP (8) headers. IPv6: its length
 * field counts the payload after the 40-byte IP header, so 65,535 less the UDP header only.
 */
export const maxPayload = (family: "IPv4" | "IPv6"): number => (family === "IPv6" ? 65_527 : 65_507)
