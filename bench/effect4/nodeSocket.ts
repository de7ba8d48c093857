/**
 * The Effect 4.1 peer: Effect 4's own socket module (`effect/socket/Socket`, with
 * `@effect/platform-node`'s NodeSocket / NodeSocketServer at 4.1.0), on the shapes of the root
 * suite (bench/raw.ts is the same raw Node baseline and the same raw clients). Written the way
 * Effect 4 means it: acquire `socket.reader` (that opens the connection; its scope owns it),
 * `pull` batches (every chunk Node has buffered, up to 4096, as one array), `writer.writeAll` a
 * batch back (corked into one flush). A closed connection fails `pull` with a `SocketError`
 * (reason `SocketCloseError` for a clean close): the echo ends there.
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import { Deferred, Effect } from "effect"
import type * as Socket from "effect/socket/Socket"
import type * as Net from "node:net"
import { CHUNK, type Impl, MiB, now, PING } from "../lib.js"

/** Where a server listens and how a client dials it: TCP on 127.0.0.1, or a UNIX path. */
export interface Transport {
  readonly server: () => Net.ListenOptions
  readonly client: (address: unknown) => Net.NetConnectOpts
}

export const tcp: Transport = {
  server: () => ({ host: "127.0.0.1", port: 0 }),
  client: (address) => ({ host: "127.0.0.1", port: (address as { port: number }).port })
}

export const unix = (socketPath: () => string): Transport => ({
  server: () => ({ path: socketPath() }),
  client: (address) => ({ path: (address as { path: string }).path })
})

/** A server on `transport` serving every connection with `handler`, in the current scope. */
const serve = <E>(transport: Transport, handler: (socket: Socket.Socket) => Effect.Effect<void, E>) =>
  Effect.gen(function*() {
    const server = yield* NodeSocketServer.make(transport.server())
    yield* Effect.forkScoped(server.run(handler))
    return server.address
  })

/** Echoes every batch back as one corked write until the peer closes. */
export const echo = (socket: Socket.Socket) =>
  Effect.gen(function*() {
    const { pull } = yield* socket.reader
    const { writeAll } = yield* socket.writer
    while (true) yield* writeAll(yield* pull)
  }).pipe(Effect.scoped, Effect.ignore)

/** The port a TCP server is bound to. */
export const portOf = (address: unknown): number => (address as { port: number }).port

export const bulk = (transport: Transport): Impl => ({ total }) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const done = yield* Deferred.make<void>()
    const address = yield* serve(transport, (socket) =>
      Effect.gen(function*() {
        const { pull } = yield* socket.reader
        let got = 0
        while (got < total!) for (const chunk of yield* pull) got += chunk.length
        yield* Deferred.succeed(done, undefined)
      }).pipe(Effect.scoped, Effect.ignore))
    const client = yield* NodeSocket.makeNet(transport.client(address))
    yield* client.reader // dials; the connection lives as long as this scope
    const { write } = yield* client.writer
    const start = now()
    for (let sent = 0; sent < total!; sent += CHUNK.length) yield* write(CHUNK)
    yield* Deferred.await(done)
    return total! / MiB / ((now() - start) / 1000)
  })))

export const pingPong = (transport: Transport): Impl => ({ rounds }) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const address = yield* serve(transport, echo)
    const client = yield* NodeSocket.makeNet(transport.client(address))
    const { pull } = yield* client.reader
    const { write } = yield* client.writer
    const start = now()
    for (let i = 0; i < rounds!; i++) {
      yield* write(PING)
      let got = 0
      while (got < PING.length) for (const chunk of yield* pull) got += chunk.length
    }
    return rounds! / ((now() - start) / 1000)
  })))

/** An Effect 4 echo server on 127.0.0.1 with raw `clients` (bench/raw.ts) driven against it. */
export const withServer =
  (clients: (port: number, params: Record<string, number>) => Promise<number>): Impl => (params) =>
    Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const address = yield* serve(tcp, echo)
      return yield* Effect.promise(() => clients(portOf(address), params))
    })))
