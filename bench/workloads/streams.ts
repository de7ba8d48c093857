/**
 * Bulk and ping-pong over any byte-stream transport, written once per implementation and
 * instantiated by the TCP (W1/W2), UNIX (W5) and TLS (W6) workloads: effect-sockets on both
 * ends, and @effect/platform's NodeSocket(Server). The shapes are those of bench/raw.ts (the
 * raw Node baseline): bulk = `total` bytes in 64 KiB sends, the receiver discards (MiB/s);
 * ping-pong = `rounds` round trips of a 64-byte message, the server echoing (round trips/s).
 */
import { NodeSocket, NodeSocketServer } from "@effect/platform-node"
import type * as PlatformSocket from "@effect/platform/Socket"
import { Deferred, Effect } from "effect"
import type * as Scope from "effect/Scope"
import type { ByteStream, Listener } from "../../src/index.js"
import { addonAvailable } from "../../src/internal/native.js"
import { CHUNK, CHUNK_BATCH, type Impl, MiB, now, PING } from "../lib.js"

// ---------------------------------------------------------------------------------------------
// effect-sockets on both ends: a listener served by `serve`, a client stream.

/** An effect-sockets transport: a listener, and how to connect to it. */
export interface EffectTransport {
  readonly listen: Effect.Effect<Listener.Listener<ByteStream.ByteStream>, unknown, Scope.Scope>
  readonly connect: (
    listener: Listener.Listener<ByteStream.ByteStream>
  ) => Effect.Effect<ByteStream.ByteStream, unknown, Scope.Scope>
}

/**
 * Bulk: `total` bytes in 64 KiB pieces. Per chunk (`batched` false): one `receive` and one
 * `send` per chunk. With the batch API (`batched`): the receiver takes every buffered chunk per
 * `receiveBatch`, the sender hands `CHUNK_BATCH` (16 chunks) to one `sendAll` (one corked
 * flush) — the same bytes in the same pieces, fewer fiber steps per byte.
 */
const bulk = (transport: EffectTransport, batched: boolean): Impl => ({ total }) =>
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

export const effectBulk = (transport: EffectTransport): Impl => bulk(transport, false)

export const effectBulkBatched = (transport: EffectTransport): Impl => bulk(transport, true)

export const effectEcho = (stream: ByteStream.ByteStream) =>
  Effect.gen(function*() {
    while (true) yield* stream.send(yield* stream.receive())
  }).pipe(Effect.catchTag("EndOfStream", () => Effect.void))

export const effectPingPong = (transport: EffectTransport): Impl => ({ rounds }) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const listener = yield* transport.listen
    yield* Effect.forkScoped(listener.serve(effectEcho))
    const client = yield* transport.connect(listener)
    const start = now()
    for (let i = 0; i < rounds!; i++) {
      yield* client.send(PING)
      let got = 0
      while (got < PING.length) got += (yield* client.receive()).length
    }
    return rounds! / ((now() - start) / 1000)
  })))

/**
 * Runs `impl` after checking which UNIX backend effect-sockets will use (the native addon, or
 * node:net with EFFECT_SOCKETS_DISABLE_ADDON=1), so a row never silently measures the other one.
 */
export const withBackend = (addon: boolean, impl: Impl): Impl => async (params) => {
  const available = await Effect.runPromise(addonAvailable)
  if (available !== addon) {
    throw new Error(
      `expected effect-sockets to use ${addon ? "the native addon" : "node:net"} but it ${
        available ? "loaded" : "could not load"
      } the addon`
    )
  }
  return impl(params)
}

// ---------------------------------------------------------------------------------------------
// @effect/platform's NodeSocketServer / NodeSocket (as W1/W2's rows).

/** Where a platform server listens and how its client connects (TCP host/port or UNIX path). */
export interface PlatformTransport {
  readonly server: () => Parameters<typeof NodeSocketServer.make>[0]
  readonly client: (address: unknown) => Parameters<typeof NodeSocket.makeNet>[0]
}

/** A platform server on `transport` serving `handler`, in the current scope; its address. */
export const platformServer = <E, R>(
  transport: PlatformTransport,
  handler: (socket: PlatformSocket.Socket) => Effect.Effect<void, E, R>
) =>
  Effect.gen(function*() {
    const server = yield* NodeSocketServer.make(transport.server())
    yield* Effect.forkScoped(server.run(handler))
    return server.address
  })

/** The platform echo: every chunk written back as it comes. */
export const platformEcho = (socket: PlatformSocket.Socket) =>
  Effect.flatMap(socket.writer, (write) => socket.run((data) => write(data)))

export const platformBulk = (transport: PlatformTransport): Impl => ({ total }) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const done = yield* Deferred.make<void>()
    const address = yield* platformServer(transport, (socket) => {
      let got = 0
      return socket.run((data) => {
        got += data.length
        if (got >= total!) Deferred.unsafeDone(done, Effect.void)
      })
    })
    const client = yield* NodeSocket.makeNet(transport.client(address))
    const write = yield* client.writer
    yield* Effect.forkScoped(client.run(() => {}))
    const start = now()
    for (let sent = 0; sent < total!; sent += CHUNK.length) yield* write(CHUNK)
    yield* Deferred.await(done)
    return total! / MiB / ((now() - start) / 1000)
  })))

export const platformPingPong = (transport: PlatformTransport): Impl => ({ rounds }) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const address = yield* platformServer(transport, platformEcho)
    const client = yield* NodeSocket.makeNet(transport.client(address))
    const write = yield* client.writer
    const done = yield* Deferred.make<void>()
    let got = 0
    let left = rounds!
    yield* Effect.forkScoped(client.run((data) => {
      got += data.length
      if (got < PING.length) return
      got -= PING.length
      if (--left === 0) return Deferred.succeed(done, undefined)
      return write(PING)
    }))
    const start = now()
    yield* write(PING)
    yield* Deferred.await(done)
    return rounds! / ((now() - start) / 1000)
  })))
