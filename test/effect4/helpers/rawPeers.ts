/**
 * Raw `node:net` peers for the Effect 4 edition's tests, written directly against Node (never
 * through effect-sockets), as Effect 4 resources.
 */
import { Effect, Queue } from "effect"
import type { Scope } from "effect"
import * as net from "node:net"

/** A raw listening server and the connections it accepted, in order. */
export interface RawServer {
  readonly port: number
  readonly accept: Effect.Effect<net.Socket>
}

/** A raw server on `host`; accepted sockets start paused and half-open capable, destroyed with the scope. */
export const rawServer = (host: string): Effect.Effect<RawServer, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const accepted = yield* Queue.unbounded<net.Socket>()
    const sockets = new Set<net.Socket>()
    const server = yield* Effect.acquireRelease(
      Effect.callback<net.Server, Error>((resume) => {
        const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
          sockets.add(socket)
          socket.on("error", () => {}) // resets are expected in some tests; assertions are client-side
          Queue.offerUnsafe(accepted, socket)
        })
        server.once("error", (error) => resume(Effect.fail(error)))
        server.listen({ host, port: 0 }, () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.callback<void>((resume) => {
          for (const socket of sockets) socket.destroy()
          server.close(() => resume(Effect.void))
        })
    )
    return { port: (server.address() as net.AddressInfo).port, accept: Queue.take(accepted) }
  })

/** A port that was free a moment ago (bound and released): connecting to it is refused. */
export const freePort = (host = "127.0.0.1"): Effect.Effect<number, Error> =>
  Effect.scoped(Effect.map(rawServer(host), (server) => server.port))

/** The peer writes `data`; completes when Node has handed it to the kernel. */
export const peerWrite = (socket: net.Socket, data: Uint8Array | string): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    socket.write(data, (error) => resume(error ? Effect.die(error) : Effect.void))
  })

/** The peer writes `data` (if any) and then half-closes; completes once both are flushed. */
export const peerEnd = (socket: net.Socket, data: Uint8Array | string = ""): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    socket.end(data, () => resume(Effect.void))
  })

/** Every byte the peer receives until the other side's EOF (bounded by the test timeout). */
export const peerReadBytesToEnd = (socket: net.Socket): Effect.Effect<Buffer> =>
  Effect.callback<Buffer>((resume) => {
    const chunks: Array<Buffer> = []
    socket.on("data", (chunk: Buffer) => chunks.push(chunk))
    socket.once("end", () => resume(Effect.succeed(Buffer.concat(chunks))))
    socket.resume()
  })

/** Everything the peer receives until the other side's EOF, as text (bounded by the test timeout). */
export const peerReadToEnd = (socket: net.Socket): Effect.Effect<string> =>
  Effect.map(peerReadBytesToEnd(socket), (bytes) => bytes.toString())

/** A raw client connected to `host:port`, destroyed with the scope. */
export const rawClient = (host: string, port: number): Effect.Effect<net.Socket, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<net.Socket, Error>((resume) => {
      const socket = net.connect({ host, port, allowHalfOpen: true })
      socket.once("error", (error) => resume(Effect.fail(error)))
      socket.once("connect", () => resume(Effect.succeed(socket)))
    }),
    (socket) => Effect.sync(() => socket.destroy())
  )
