/**
 * TCP workloads W1–W3, each written three ways: raw `node:net` (idiomatic, with backpressure:
 * the baseline), effect-sockets, and @effect/platform's NodeSocket/NodeSocketServer. W1/W2 are
 * the shared bulk and ping-pong shapes of streams.ts over TCP.
 */
import { NodeSocketServer } from "@effect/platform-node"
import type * as PlatformSocket from "@effect/platform/Socket"
import { Effect } from "effect"
import { once } from "node:events"
import { Listener, Socket } from "../../src/index.js"
import { connectRaw, listenRaw, now, type Workload } from "../lib.js"
import {
  effectBulk,
  effectEcho,
  effectPingPong,
  type EffectTransport,
  MiB,
  PING,
  platformBulk,
  platformPingPong,
  type PlatformTransport,
  rawBulk,
  rawPingPong,
  type RawTransport
} from "./streams.js"

const portOf = (listener: { readonly addresses: ReadonlyArray<{ readonly _tag: string; readonly port?: number }> }) =>
  listener.addresses[0]!.port!

const raw: RawTransport = {
  listen: async (onConnection) => {
    const { server, port } = await listenRaw(onConnection)
    return { connect: () => connectRaw(port), close: () => server.close() }
  }
}

const effect: EffectTransport = {
  listen: Listener.createTcpListener({ localHost: "127.0.0.1" }),
  connect: (listener) => Socket.connectTcp("127.0.0.1", portOf(listener))
}

const platform: PlatformTransport = {
  server: () => ({ host: "127.0.0.1", port: 0 }),
  client: (address) => ({ host: "127.0.0.1", port: (address as { port: number }).port })
}

const platformServer = <E, R>(handler: (socket: PlatformSocket.Socket) => Effect.Effect<void, E, R>) =>
  Effect.gen(function*() {
    const server = yield* NodeSocketServer.make({ host: "127.0.0.1", port: 0 })
    yield* Effect.forkScoped(server.run(handler))
    return (server.address as { port: number }).port
  })

const rawEchoServer = () =>
  listenRaw((socket) => {
    socket.on("data", (data: Buffer) => socket.write(data))
  })

const rawPingPongClient = async (port: number, rounds: number) => {
  const client = await connectRaw(port)
  await new Promise<void>((resolve) => {
    let got = 0
    let left = rounds
    client.on("data", (data: Buffer) => {
      got += data.length
      if (got < PING.length) return
      got -= PING.length
      if (--left === 0) resolve()
      else client.write(PING)
    })
    client.write(PING)
  })
  client.destroy()
}

// ---------------------------------------------------------------------------------------------
// W3 serve: `connections` concurrent clients × `rounds` round trips (round trips/s), and
// `churn` connect/close cycles against the server (connections/s). Clients are raw Node in
// every row, so the row measures the server.

/** W2 with effect-sockets on one end only (its server), so users see both cases. */
const effectServerPingPong = ({ rounds }: Record<string, number>) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
    yield* Effect.forkScoped(listener.serve(effectEcho))
    const start = now()
    yield* Effect.promise(() => rawPingPongClient(portOf(listener), rounds!))
    return rounds! / ((now() - start) / 1000)
  })))

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
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
    yield* Effect.forkScoped(listener.serve(effectEcho))
    return yield* Effect.promise(
      serveFigure(connections!, rounds!, () => rawClients(portOf(listener), connections!, rounds!))
    )
  })))

const platformServe = ({ connections, rounds }: Record<string, number>) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
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
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
    yield* Effect.forkScoped(listener.serve(effectEcho))
    return yield* Effect.promise(() => churnFigure(portOf(listener), churn!))
  })))

const platformConnect = ({ churn }: Record<string, number>) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
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
    impls: { raw: rawBulk(raw), "effect-sockets": effectBulk(effect), "@effect/platform": platformBulk(platform) }
  },
  {
    id: "W2",
    title: "TCP ping-pong, 64 B",
    unit: "round trips/s",
    params: { full: { rounds: 100_000 }, quick: { rounds: 2_000 } },
    impls: {
      raw: rawPingPong(raw),
      "effect-sockets": effectPingPong(effect),
      "effect-sockets server, raw client": effectServerPingPong,
      "@effect/platform": platformPingPong(platform)
    }
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
