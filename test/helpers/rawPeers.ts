/**
 * Raw `node:net` peers for the socket tests: the independent reference peer (AnyIO's "raw
 * peer"), written directly against Node and never through effect-sockets.
 */
import { Effect, Fiber, Queue } from "effect"
import type { Scope } from "effect"
import * as net from "node:net"

/** A raw listening server and the connections it accepted, in order. */
export interface RawServer {
  readonly port: number
  readonly accept: Effect.Effect<net.Socket>
}

/**
 * A raw server on `host` (port 0 unless given). Accepted sockets start paused (the peer reads
 * nothing until a helper below asks), are half-open capable, and are destroyed with the server
 * when the scope closes.
 */
export const rawServer = (
  host: string,
  options: { readonly ipv6Only?: boolean; readonly port?: number } = {}
): Effect.Effect<RawServer, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const accepted = yield* Queue.unbounded<net.Socket>()
    const sockets = new Set<net.Socket>()
    const server = yield* Effect.acquireRelease(
      Effect.async<net.Server, Error>((resume) => {
        const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
          sockets.add(socket)
          socket.on("error", () => {}) // resets are expected in some tests; assertions are client-side
          Queue.unsafeOffer(accepted, socket)
        })
        server.once("error", (error) => resume(Effect.fail(error)))
        server.listen({ host, port: options.port ?? 0, ipv6Only: options.ipv6Only ?? false }, () =>
          resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          for (const socket of sockets) {
            socket.destroy()
          }
          server.close(() =>
            resume(Effect.void)
          )
        })
    )
    return { port: (server.address() as net.AddressInfo).port, accept: Queue.take(accepted) }
  })

/** A port that was free a moment ago: bound on `host` (dual stack for `::`) and released. */
export const freePort = (host = "::"): Effect.Effect<number, Error> =>
  Effect.scoped(Effect.map(rawServer(host), (server) => server.port))

/** The peer writes `data`; completes when Node has handed it to the kernel. */
export const peerWrite = (socket: net.Socket, data: Uint8Array | string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    socket.write(data, (error) => resume(error ? Effect.die(error) : Effect.void))
  })

/** The peer writes `data` (if any) and then its FIN; completes once both are flushed. */
export const peerEnd = (socket: net.Socket, data: Uint8Array | string = ""): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    socket.end(data, () => resume(Effect.void))
  })

/** The peer reads exactly `n` bytes (dies if the stream ends first). */
export const peerRead = (socket: net.Socket, n: number): Effect.Effect<Buffer> =>
  Effect.async<Buffer>((resume) => {
    const cleanup = () => {
      socket.off("readable", tryRead)
      socket.off("end", onEnd)
    }
    function tryRead() {
      const chunk = socket.read(n) as Buffer | null
      if (chunk === null) return
      cleanup()
      resume(chunk.length === n ? Effect.succeed(chunk) : Effect.dieMessage(`peer: EOF after ${chunk.length} bytes`))
    }
    function onEnd() {
      cleanup()
      resume(Effect.dieMessage(`peer: EOF before ${n} bytes`))
    }
    socket.on("readable", tryRead)
    socket.on("end", onEnd)
    tryRead()
    return Effect.sync(cleanup)
  })

/** The peer reads everything until the other side's FIN. */
export const peerReadToEnd = (socket: net.Socket): Effect.Effect<Buffer> =>
  Effect.async<Buffer>((resume) => {
    const chunks: Array<Buffer> = []
    socket.on("data", (chunk: Buffer) => chunks.push(chunk))
    socket.once("end", () => resume(Effect.succeed(Buffer.concat(chunks))))
    socket.resume() // a socket paused on connect does not start flowing by itself
  })

/**
 * Waits (bounded) until `fiber` is suspended, i.e. parked in an asynchronous operation such as
 * a `receive` waiting for data. Used as a latch instead of a guessed sleep.
 */
export const awaitSuspended = <A, E>(fiber: Fiber.RuntimeFiber<A, E>): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i < 2000; i++) {
      const status = yield* Fiber.status(fiber)
      if (status._tag === "Suspended") return
      if (status._tag === "Done") return yield* Effect.dieMessage("the fiber ended instead of blocking")
      yield* Effect.sleep("1 millis")
    }
    return yield* Effect.dieMessage("the fiber did not block within 2 s")
  })
