/**
 * @internal
 * Driver: name resolution with the system resolver (`getaddrinfo` through `node:dns`), and IP
 * literal detection. Effect-free.
 */
import * as dns from "node:dns"
import * as net from "node:net"

/** @internal An IP address and its family. */
export interface ResolvedAddress {
  readonly address: string
  readonly family: 4 | 6
}

/** @internal 4 or 6 for an IP literal, 0 for anything else (a name). */
export const ipFamily = (host: string): 0 | 4 | 6 => net.isIP(host) as 0 | 4 | 6

/** @internal The resolver's answers for `host`, in the resolver's order (`verbatim`). */
export const lookup = (
  host: string,
  family: 0 | 4 | 6,
  callback: (error: Error | null, addresses: Array<ResolvedAddress>) => void
): void => {
  dns.lookup(host, { all: true, verbatim: true, family }, (error, addresses) => {
    if (error) callback(error, [])
    else callback(null, addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })))
  })
}
