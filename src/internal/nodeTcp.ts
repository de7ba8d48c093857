/**
 * @internal
 * TCP mechanics over `node:net` and `node:dns`: one connection attempt, name resolution,
 * socket attributes. Policy (happy eyeballs, validation) lives in `src/Socket/Tcp.ts`.
 */
import * as Effect from "effect/Effect"
import * as dns from "node:dns"
import * as net from "node:net"
import type { InetAddress } from "../ByteStream.js"
import { codeOf, type ConnectAttempt, reasonOf, ResolveError, type ResolveErrorReason } from "../NetError.js"

/**
 * @internal
 * How much Node may read ahead of `receive` per socket. libuv reads up to 64 KiB at a time, and
 * several times per wake-up; a mark above that keeps Node from stopping and restarting reads
 * (two syscalls each) on every bulk chunk, while still bounding what an unread socket holds.
 */
export const READ_HIGH_WATER_MARK = 256 * 1024

/** @internal */
export interface ResolvedAddress {
  readonly address: string
  readonly family: 4 | 6
}

/** @internal */
export interface InetAttributes {
  readonly family: "IPv4" | "IPv6"
  readonly localAddress: InetAddress
  readonly remoteAddress: InetAddress
  readonly [key: string]: unknown
}

const resolveReasons: Record<string, ResolveErrorReason> = {
  ENOTFOUND: "NotFound",
  EAI_NONAME: "NotFound",
  EAI_AGAIN: "TemporaryFailure",
  ENODATA: "NoAddress",
  EAI_NODATA: "NoAddress"
}

/** @internal The resolver's answers for `host`, in the resolver's order. */
export const lookup = (host: string, family: 0 | 4 | 6 = 0): Effect.Effect<Array<ResolvedAddress>, ResolveError> =>
  Effect.async<Array<ResolvedAddress>, ResolveError>((resume) => {
    dns.lookup(host, { all: true, verbatim: true, family }, (error, addresses) => {
      if (error) {
        resume(
          Effect.fail(
            new ResolveError({ host, reason: resolveReasons[codeOf(error) ?? ""] ?? "Unknown", cause: error })
          )
        )
      } else if (addresses.length === 0) {
        resume(Effect.fail(new ResolveError({ host, reason: "NoAddress" })))
      } else {
        resume(Effect.succeed(addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }))))
      }
    })
  })

/** @internal */
export interface AttemptOptions {
  readonly host: string
  readonly port: number
  readonly localAddress?: string | undefined
  readonly localPort?: number | undefined
  readonly noDelay: boolean
}

/**
 * @internal
 * One connection attempt to an IP address. Interrupting it destroys the socket.
 */
export const connectAttempt = (options: AttemptOptions): Effect.Effect<net.Socket, ConnectAttempt> =>
  Effect.async<net.Socket, ConnectAttempt>((resume) => {
    // `readableHighWaterMark` reaches the Duplex underneath; @types/node does not list it here.
    const socket = net.connect({
      host: options.host,
      port: options.port,
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      ...(options.localPort !== undefined ? { localPort: options.localPort } : {}),
      noDelay: options.noDelay,
      allowHalfOpen: true,
      readableHighWaterMark: READ_HIGH_WATER_MARK
    } as net.NetConnectOpts)
    const onError = (cause: Error) => {
      socket.destroy()
      resume(Effect.fail({ host: options.host, port: options.port, reason: reasonOf(cause), cause }))
    }
    socket.once("error", onError)
    socket.once("connect", () => {
      socket.off("error", onError)
      resume(Effect.succeed(socket))
    })
    return Effect.sync(() => socket.destroy())
  })

const familyOf = (address: string): "IPv4" | "IPv6" => (net.isIPv6(address) ? "IPv6" : "IPv4")

/** @internal The addresses of a connected socket, read once (Node forgets them on close). */
export const inetAttributes = (socket: net.Socket): InetAttributes => {
  const local = socket.address() as net.AddressInfo
  return {
    family: familyOf(local.address),
    localAddress: { _tag: "InetAddress", host: local.address, port: local.port },
    remoteAddress: { _tag: "InetAddress", host: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 }
  }
}

/**
 * @internal
 * RFC 8305 ordering: keep the resolver's order within each family, alternate families starting
 * with the family of the first answer.
 */
export const interleave = <A extends { readonly family: 4 | 6 }>(addresses: ReadonlyArray<A>): Array<A> => {
  if (addresses.length === 0) return []
  const first = addresses[0]!.family
  const primary = addresses.filter((a) => a.family === first)
  const secondary = addresses.filter((a) => a.family !== first)
  const out: Array<A> = []
  for (let i = 0; i < Math.max(primary.length, secondary.length); i++) {
    if (i < primary.length) out.push(primary[i]!)
    if (i < secondary.length) out.push(secondary[i]!)
  }
  return out
}

/** @internal */
export interface BindOptions {
  readonly host: string
  readonly port: number
  readonly ipv6Only: boolean
  readonly backlog: number
  readonly reusePort: boolean
}

/**
 * @internal
 * A `net.Server` bound and listening on one address. Accepted sockets start paused (nothing is
 * read until someone receives), half-open capable and with TCP_NODELAY.
 */
export const bind = (options: BindOptions): Effect.Effect<net.Server, Error> =>
  Effect.async<net.Server, Error>((resume) => {
    const server = net.createServer({
      allowHalfOpen: true,
      pauseOnConnect: true,
      noDelay: true,
      highWaterMark: READ_HIGH_WATER_MARK
    })
    const onError = (error: Error) => {
      server.close()
      resume(Effect.fail(error))
    }
    server.once("error", onError)
    server.listen(
      {
        host: options.host,
        port: options.port,
        ipv6Only: options.ipv6Only,
        backlog: options.backlog,
        ...(options.reusePort ? { reusePort: true } : {})
      },
      () => {
        server.off("error", onError)
        resume(Effect.succeed(server))
      }
    )
    return Effect.sync(() => server.close())
  })

/** @internal Whether this Node's `server.listen` honours `reusePort` (22.12+, 23.1+). */
export const supportsReusePort = (): boolean => {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number)
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12)
}
