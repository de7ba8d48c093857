/**
 * The Effect 4 edition of effect-sockets (`src/effect4`, resolving effect 4.1 through its
 * node_modules link made by `node scripts/effect4.mjs setup`) on the shapes of the root suite's
 * effect-sockets rows (bench/workloads/streams.ts): bulk = `total` bytes in 64 KiB sends,
 * ping-pong = `rounds` 64-byte round trips against a `serve` echo; and its server with raw
 * clients (bench/raw.ts). It runs on the lighter runtime over the same drivers.
 */
import type * as Scope from "effect/Scope"
import { type ByteStream, Listener, Socket } from "../../src/effect4/index.js"
// The edition's own copy of effect (src/effect4 resolves effect through src/effect4/node_modules):
// importing this folder's copy would put two runtimes in one process, as no user's project has.
import { Deferred, Effect } from "../../src/effect4/node_modules/effect/dist/index.js"
import { CHUNK, CHUNK_BATCH, type Impl, MiB, now, PING } from "../lib.js"

/** A transport of the edition: a listener, and how to connect to it. */
export interface EditionTransport {
  readonly listen: Effect.Effect<Listener.Listener, unknown, Scope.Scope>
  readonly connect: (listener: Listener.Listener) => Effect.Effect<ByteStream.ByteStream, unknown, Scope.Scope>
}

const portOf = (listener: Listener.Listener): number => {
  const address = listener.addresses[0]
  return address?._tag === "InetAddress" ? address.port : 0
}

export const editionTcp: EditionTransport = {
  listen: Listener.createTcpListener({ localHost: "127.0.0.1", localPort: 0 }),
  connect: (listener) => Socket.connectTcp("127.0.0.1", portOf(listener))
}

export const editionUnix = (socketPath: () => string): EditionTransport => ({
  listen: Effect.suspend(() => Listener.createUnixListener(socketPath())),
  connect: (listener) => Socket.connectUnix((listener.addresses[0] as { readonly path: string }).path)
})

const echo = (stream: ByteStream.ByteStream) =>
  Effect.gen(function*() {
    while (true) yield* stream.send(yield* stream.receive())
  }).pipe(Effect.catchTag("EndOfStream", () => Effect.void))

/**
 * Bulk: `total` bytes in 64 KiB pieces, one `receive` and one `send` per chunk, or (`batched`)
 * every buffered chunk per `receiveBatch` and `CHUNK_BATCH` (16 chunks) per `sendAll`, as the
 * root suite's batch-API rows.
 */
export const editionBulk = (transport: EditionTransport, batched = false): Impl => ({ total }) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const listener = yield* transport.listen
    const done = yield* Deferred.make<void>()
    yield* Effect.forkScoped(listener.serve((stream) =>
      Effect.gen(function*() {
        let got = 0
        while (got < total!) {
          if (batched) { for (const chunk of yield* stream.receiveBatch()) got += chunk.length }
          else got += (yield* stream.receive()).length
        }
        yield* Deferred.succeed(done, undefined)
      })
    ))
    const client = yield* transport.connect(listener)
    const start = now()
    if (batched) {
      for (let sent = 0; sent < total!; sent += CHUNK_BATCH.length * CHUNK.length) yield* client.sendAll(CHUNK_BATCH)
    } else for (let sent = 0; sent < total!; sent += CHUNK.length) yield* client.send(CHUNK)
    yield* Deferred.await(done)
    return total! / MiB / ((now() - start) / 1000)
  })))

export const editionPingPong = (transport: EditionTransport): Impl => ({ rounds }) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const listener = yield* transport.listen
    yield* Effect.forkScoped(listener.serve(echo))
    const client = yield* transport.connect(listener)
    const start = now()
    for (let i = 0; i < rounds!; i++) {
      yield* client.send(PING)
      let got = 0
      while (got < PING.length) got += (yield* client.receive()).length
    }
    return rounds! / ((now() - start) / 1000)
  })))

/** An edition echo server on 127.0.0.1 with raw `clients` (bench/raw.ts) driven against it. */
export const editionServer =
  (clients: (port: number, params: Record<string, number>) => Promise<number>): Impl => (params) =>
    Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const listener = yield* editionTcp.listen
      yield* Effect.forkScoped(listener.serve(echo))
      return yield* Effect.promise(() => clients(portOf(listener), params))
    })))
