/**
 * TCP workloads W1–W3, each written three ways: raw `node:net` (idiomatic, with backpressure:
 * the baseline), effect-sockets, and @effect/platform's NodeSocket/NodeSocketServer.
 */
import { NodeSocket, NodeSocketServer } from "@effect/platform-node"
import type * as PlatformSocket from "@effect/platform/Socket"
import { Deferred, Effect } from "effect"
import { once } from "node:events"
import { type ByteStream, Listener, Socket } from "../../src/index.js"
import { connectRaw, latch, listenRaw, now, type Workload } from "../lib.js"

const MiB = 1024 * 1024
const CHUNK = Buffer.alloc(64 * 1024, 0x61)
const PING = Buffer.alloc(64, 0x62)

const portOf = (listener: { readonly addresses: ReadonlyArray<{ readonly _tag: string; readonly port?: number }> }) =>
  listener.addresses[0]!.port!

// ---------------------------------------------------------------------------------------------
// W1 bulk: `total` bytes in 64 KiB sends; the receiver discards. Figure: MiB/s.

const rawBulk = async ({ total }: Record<string, number>) => {
  const done = latch()
  const { server, port } = await listenRaw((socket) => {
    let got = 0
    socket.on("data", (data: Buffer) => {
      got += data.length
      if (got >= total!) done.resolve()
    })
  })
  const client = await connectRaw(port)
  const start = now()
  for (let sent = 0; sent < total!; sent += CHUNK.length) {
    if (!client.write(CHUNK)) await once(client, "drain")
  }
  await done.promise
  const seconds = (now() - start) / 1000
  client.destroy()
  server.close()
  return total! / MiB / seconds
}

const effectBulk = ({ total }: Record<string, number>) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
    const done = yield* Deferred.make<void>()
    yield* Effect.forkScoped(listener.serve((stream) =>
      Effect.gen(function* () {
        let got = 0
        while (got < total!) got += (yield* stream.receive()).length
        yield* Deferred.succeed(done, undefined)
      })
    ))
    const client = yield* Socket.connectTcp("127.0.0.1", portOf(listener))
    const start = now()
    for (let sent = 0; sent < total!; sent += CHUNK.length) yield* client.send(CHUNK)
    yield* Deferred.await(done)
    return total! / MiB / ((now() - start) / 1000)
  })))

const platformServer = <E, R>(handler: (socket: PlatformSocket.Socket) => Effect.Effect<void, E, R>) =>
  Effect.gen(function* () {
    const server = yield* NodeSocketServer.make({ host: "127.0.0.1", port: 0 })
    yield* Effect.forkScoped(server.run(handler))
    return (server.address as { port: number }).port
  })

const platformBulk = ({ total }: Record<string, number>) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const done = yield* Deferred.make<void>()
    const port = yield* platformServer((socket) => {
      let got = 0
      return socket.run((data) => {
        got += data.length
        if (got >= total!) Deferred.unsafeDone(done, Effect.void)
      })
    })
    const client = yield* NodeSocket.makeNet({ host: "127.0.0.1", port })
    const write = yield* client.writer
    yield* Effect.forkScoped(client.run(() => {}))
    const start = now()
    for (let sent = 0; sent < total!; sent += CHUNK.length) yield* write(CHUNK)
    yield* Deferred.await(done)
    return total! / MiB / ((now() - start) / 1000)
  })))

// ---------------------------------------------------------------------------------------------
// W2 ping-pong: `rounds` round trips of 64 bytes on one connection. Figure: round trips/s.

const rawEchoServer = () =>
  listenRaw((socket) => {
    socket.on("data", (data: Buffer) => socket.write(data))
  })

const rawPingPongClient = async (port: number, rounds: number) => {
  const client = await connectRaw(port)
  const done = latch()
  let got = 0
  let left = rounds
  client.on("data", (data: Buffer) => {
    got += data.length
    if (got < PING.length) return
    got -= PING.length
    if (--left === 0) done.resolve()
    else client.write(PING)
  })
  client.write(PING)
  await done.promise
  client.destroy()
}

const rawPingPong = async ({ rounds }: Record<string, number>) => {
  const { server, port } = await rawEchoServer()
  const start = now()
  await rawPingPongClient(port, rounds!)
  const seconds = (now() - start) / 1000
  server.close()
  return rounds! / seconds
}

const effectEcho = (stream: ByteStream.ByteStream) =>
  Effect.gen(function* () {
    while (true) yield* stream.send(yield* stream.receive())
  }).pipe(Effect.catchTag("EndOfStream", () => Effect.void))

const effectPingPongClient = (port: number, rounds: number) =>
  Effect.scoped(Effect.gen(function* () {
    const client = yield* Socket.connectTcp("127.0.0.1", port)
    for (let i = 0; i < rounds; i++) {
      yield* client.send(PING)
      let got = 0
      while (got < PING.length) got += (yield* client.receive()).length
    }
  }))

const effectPingPong = ({ rounds }: Record<string, number>) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
    yield* Effect.forkScoped(listener.serve(effectEcho))
    const start = now()
    yield* effectPingPongClient(portOf(listener), rounds!)
    return rounds! / ((now() - start) / 1000)
  })))

const platformPingPong = ({ rounds }: Record<string, number>) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const port = yield* platformServer((socket) =>
      Effect.flatMap(socket.writer, (write) => socket.run((data) => write(data)))
    )
    const client = yield* NodeSocket.makeNet({ host: "127.0.0.1", port })
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

// ---------------------------------------------------------------------------------------------
// W3 serve: `connections` concurrent clients × `rounds` round trips (round trips/s), and
// `churn` connect/close cycles against the server (connections/s). Clients are raw Node in
// every row, so the row measures the server.

const rawClients = async (port: number, connections: number, rounds: number) => {
  await Promise.all(Array.from({ length: connections }, () => rawPingPongClient(port, rounds)))
}

const rawChurn = async (port: number, churn: number) => {
  const parallel = 20
  const one = async () => {
    const socket = await connectRaw(port)
    socket.write(PING)
    await once(socket, "data")
    socket.destroy()
  }
  for (let i = 0; i < churn; i += parallel) await Promise.all(Array.from({ length: parallel }, one))
}

const serveFigure = (connections: number, rounds: number, run: () => Promise<void>) => async () => {
  const start = now()
  await run()
  return (connections * rounds) / ((now() - start) / 1000)
}

const rawServe = async ({ connections, rounds }: Record<string, number>) => {
  const { server, port } = await rawEchoServer()
  const figure = await serveFigure(connections!, rounds!, () => rawClients(port, connections!, rounds!))()
  server.close()
  return figure
}

const effectServe = ({ connections, rounds }: Record<string, number>) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
    yield* Effect.forkScoped(listener.serve(effectEcho))
    return yield* Effect.promise(serveFigure(connections!, rounds!, () => rawClients(portOf(listener), connections!, rounds!)))
  })))

const platformServe = ({ connections, rounds }: Record<string, number>) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const port = yield* platformServer((socket) =>
      Effect.flatMap(socket.writer, (write) => socket.run((data) => write(data)))
    )
    return yield* Effect.promise(serveFigure(connections!, rounds!, () => rawClients(port, connections!, rounds!)))
  })))

const churnFigure = async (port: number, churn: number) => {
  const start = now()
  await rawChurn(port, churn)
  return churn / ((now() - start) / 1000)
}

const rawConnect = async ({ churn }: Record<string, number>) => {
  const { server, port } = await rawEchoServer()
  const figure = await churnFigure(port, churn!)
  server.close()
  return figure
}

const effectConnect = ({ churn }: Record<string, number>) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
    yield* Effect.forkScoped(listener.serve(effectEcho))
    return yield* Effect.promise(() => churnFigure(portOf(listener), churn!))
  })))

const platformConnect = ({ churn }: Record<string, number>) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const port = yield* platformServer((socket) =>
      Effect.flatMap(socket.writer, (write) => socket.run((data) => write(data)))
    )
    return yield* Effect.promise(() => churnFigure(port, churn!))
  })))

/** The TCP workloads. */
export const tcpWorkloads: ReadonlyArray<Workload> = [
  {
    id: "W1",
    title: "TCP bulk, 64 KiB sends",
    unit: "MiB/s",
    params: { full: { total: 1024 * MiB }, quick: { total: 32 * MiB } },
    impls: { raw: rawBulk, "effect-sockets": effectBulk, "@effect/platform": platformBulk }
  },
  {
    id: "W2",
    title: "TCP ping-pong, 64 B",
    unit: "round trips/s",
    params: { full: { rounds: 100_000 }, quick: { rounds: 2_000 } },
    impls: { raw: rawPingPong, "effect-sockets": effectPingPong, "@effect/platform": platformPingPong }
  },
  {
    id: "W3",
    title: "serve: concurrent connections × round trips (raw clients)",
    unit: "round trips/s",
    params: { full: { connections: 200, rounds: 500 }, quick: { connections: 20, rounds: 50 } },
    impls: { raw: rawServe, "effect-sockets": effectServe, "@effect/platform": platformServe }
  },
  {
    id: "W3c",
    title: "serve: connect, one round trip, close (raw clients)",
    unit: "connections/s",
    params: { full: { churn: 20_000 }, quick: { churn: 500 } },
    impls: { raw: rawConnect, "effect-sockets": effectConnect, "@effect/platform": platformConnect }
  }
]
