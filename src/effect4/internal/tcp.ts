/**
 * @internal
 * The Effect 4 edition's TCP layer: name resolution, one connection attempt and one bound
 * server as effects over the shared drivers, and the TcpStream over a connected socket.
 */
import * as Effect from "effect/Effect"
import type * as net from "node:net"
import * as dns from "../../internal/driver/dns.js"
import * as driver from "../../internal/driver/tcp.js"
import { reasonOf, resolveReasonOf } from "../../internal/systemError.js"
import {
  type BrokenResourceError,
  type ClosedResourceError,
  type ConnectAttempt,
  InvalidArgumentError,
  ResolveError
} from "../NetError.js"
import type { TcpStream } from "../Socket/Tcp.js"
import { broken, closed } from "./errors.js"
import * as netStream from "./netStream.js"
import type { Side } from "./telemetry.js"

/** @internal The resolver's answers for `host`, in the resolver's order. */
export const lookup = (host: string, family: 0 | 4 | 6 = 0): Effect.Effect<Array<dns.ResolvedAddress>, ResolveError> =>
  Effect.callback<Array<dns.ResolvedAddress>, ResolveError>((resume) => {
    dns.lookup(host, family, (error, addresses) => {
      if (error) {
        const reason = resolveReasonOf(error)
        resume(Effect.fail(new ResolveError({ host, reason, cause: error })))
      } else if (addresses.length === 0) {
        resume(Effect.fail(new ResolveError({ host, reason: "NoAddress" })))
      } else {
        resume(Effect.succeed(addresses))
      }
    })
  })

/** @internal An IP literal as itself, a name as the first address it resolves to. */
export const resolveFirst = (host: string, family: 0 | 4 | 6): Effect.Effect<dns.ResolvedAddress, ResolveError> => {
  const literal = dns.ipFamily(host)
  return literal !== 0
    ? Effect.succeed({ address: host, family: literal })
    : Effect.map(lookup(host, family), (addresses) => addresses[0]!)
}

/** @internal One connection attempt to an IP address. Interrupting it destroys the socket. */
export const connectAttempt = (options: driver.AttemptOptions): Effect.Effect<net.Socket, ConnectAttempt> =>
  Effect.callback<net.Socket, ConnectAttempt>((resume) => {
    const cancel = driver.connect(options, (cause, socket) => {
      if (cause) resume(Effect.fail({ host: options.host, port: options.port, reason: reasonOf(cause), cause }))
      else resume(Effect.succeed(socket!))
    })
    return Effect.sync(cancel)
  })

/** @internal A `net.Server` bound and listening on one address (see the driver's `listen`). */
export const bind = (options: driver.BindOptions): Effect.Effect<net.Server, Error> =>
  Effect.callback<net.Server, Error>((resume) => {
    const cancel = driver.listen(options, (error, server) => {
      resume(error ? Effect.fail(error) : Effect.succeed(server!))
    })
    return Effect.sync(cancel)
  })

/** @internal A TcpStream owning a connected TCP socket (client or accepted). */
export const makeTcpStream = (socket: net.Socket, side: Side): TcpStream =>
  netStream.make(socket, driver.inetAttributes(socket), "tcp", side)

/**
 * @internal
 * A TcpStream owning an accepted socket, with the listener's socket options applied first. If
 * they cannot be applied, the socket is destroyed with that error: the handler's first
 * receive or send reports it (a `BrokenResourceError`).
 */
export const makeAcceptedTcpStream =
  (options: driver.TcpSocketOptions | undefined) => (socket: net.Socket): TcpStream => {
    if (options !== undefined) {
      const failed = driver.applySocketOptions(socket, options)
      if (failed) socket.destroy(failed)
    }
    return makeTcpStream(socket, "server")
  }

/** @internal Applies validated socket options to an open TCP stream of ours. */
export const setSocketOptions = (
  stream: TcpStream,
  options: driver.TcpSocketOptions
): Effect.Effect<void, InvalidArgumentError | ClosedResourceError | BrokenResourceError> =>
  Effect.suspend((): Effect.Effect<void, InvalidArgumentError | ClosedResourceError | BrokenResourceError> => {
    if (!netStream.isNetStream(stream)) {
      return Effect.fail(
        new InvalidArgumentError({
          argument: "stream",
          why: "must be a TCP stream made by connectTcp or a TCP listener"
        })
      )
    }
    const socket = netStream.liveSocketOf(stream)
    if (socket === undefined) return Effect.fail(closed("setSocketOptions"))
    const failed = driver.applySocketOptions(socket, options)
    return failed ? Effect.fail(broken("setSocketOptions", failed)) : Effect.void
  })
