/**
 * TCP workloads W1–W3, each written three ways: raw `node:net` (idiomatic, with backpressure:
 * the baseline, bench/raw.ts), effect-sockets, and @effect/platform's NodeSocket/NodeSocketServer
 * (the Effect 4.1 peer adds its rows from bench/effect4/). W1/W2 are the shared bulk and
 * ping-pong shapes of streams.ts over TCP. W3/W3c use raw Node clients in every row, so the row
 * measures the server; W2x/W3x put those raw clients in another process (what a server
 * operator sees: no client work in the server's process).
 */
import { Effect } from "effect"
import { Listener } from "../../src/index.js"
import { type Impl, MiB, type Workload } from "../lib.js"
import { type Clients, clients, rawBulk, rawPingPong, rawTcp, withRawServer } from "../raw.js"
import {
  effectBulk,
  effectBulkBatched,
  effectEcho,
  effectPingPong,
  platformBulk,
  platformEcho,
  platformPingPong,
  platformServer,
  type PlatformTransport
} from "./streams.js"
import { effectTcp, portOf } from "./transports.js"

const platformTcp: PlatformTransport = {
  server: () => ({ host: "127.0.0.1", port: 0 }),
  client: (address) => ({ host: "127.0.0.1", port: (address as { port: number }).port })
}

/** An effect-sockets echo server on 127.0.0.1 with raw `clients` driven against it. */
const withEffectServer = (clients: Clients): Impl => (params) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
    yield* Effect.forkScoped(listener.serve(effectEcho))
    return yield* Effect.promise(() => clients(portOf(listener), params))
  })))

/** An @effect/platform echo server on 127.0.0.1 with raw `clients` driven against it. */
const withPlatformServer = (clients: Clients): Impl => (params) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const address = yield* platformServer(platformTcp, platformEcho)
    return yield* Effect.promise(() => clients((address as { port: number }).port, params))
  })))

/** The TCP workloads. */
export const tcpWorkloads: ReadonlyArray<Workload> = [
  {
    id: "W1",
    title: "TCP bulk, 64 KiB sends",
    unit: "MiB/s",
    params: { full: { total: 1024 * MiB }, quick: { total: 32 * MiB } },
    impls: {
      raw: rawBulk(rawTcp),
      "effect-sockets": effectBulk(effectTcp),
      "effect-sockets, receiveBatch/sendAll": effectBulkBatched(effectTcp),
      "@effect/platform": platformBulk(platformTcp)
    }
  },
  {
    id: "W2",
    title: "TCP ping-pong, 64 B",
    unit: "round trips/s",
    params: { full: { rounds: 100_000 }, quick: { rounds: 2_000 } },
    impls: {
      raw: rawPingPong(rawTcp),
      "effect-sockets": effectPingPong(effectTcp),
      "effect-sockets server, raw client": withEffectServer(clients.one),
      "@effect/platform": platformPingPong(platformTcp)
    }
  },
  {
    id: "W2x",
    title: "TCP ping-pong, 64 B, raw client in another process",
    unit: "round trips/s",
    params: { full: { rounds: 100_000 }, quick: { rounds: 2_000 } },
    impls: {
      raw: withRawServer(clients.otherProcess),
      "effect-sockets server": withEffectServer(clients.otherProcess),
      "@effect/platform server": withPlatformServer(clients.otherProcess)
    }
  },
  {
    id: "W3",
    title: "serve: concurrent connections × round trips (raw clients)",
    unit: "round trips/s",
    params: { full: { connections: 200, rounds: 500 }, quick: { connections: 20, rounds: 50 } },
    impls: {
      raw: withRawServer(clients.serve),
      "effect-sockets": withEffectServer(clients.serve),
      "@effect/platform": withPlatformServer(clients.serve)
    }
  },
  {
    id: "W3x",
    title: "serve: concurrent connections × round trips, raw clients in another process",
    unit: "round trips/s",
    params: { full: { connections: 200, rounds: 500 }, quick: { connections: 20, rounds: 50 } },
    impls: {
      raw: withRawServer(clients.otherProcess),
      "effect-sockets server": withEffectServer(clients.otherProcess),
      "@effect/platform server": withPlatformServer(clients.otherProcess)
    }
  },
  {
    id: "W3c",
    title: "serve: connect, one round trip, close (raw clients)",
    unit: "connections/s",
    params: { full: { churn: 20_000 }, quick: { churn: 500 } },
    impls: {
      raw: withRawServer(clients.churn),
      "effect-sockets": withEffectServer(clients.churn),
      "@effect/platform": withPlatformServer(clients.churn)
    }
  }
]
