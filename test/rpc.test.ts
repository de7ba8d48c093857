/**
 * @effect/rpc over effect-sockets, through `effect-sockets/Platform`: a real RpcGroup (a plain
 * call, a streaming call, 200 concurrent calls, a 4 MiB payload, a NetError crossing the wire)
 * over TCP, UNIX, TLS and mutual TLS, with the ndjson and MessagePack serialisations; our
 * server answered by @effect/platform-node's NodeSocket client and our client against its
 * NodeSocketServer; a client that reconnects when its server restarts on the same port.
 * Live clock throughout: RpcClient's reconnect schedule and our timeouts need real time.
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import * as SocketServer from "@effect/platform/SocketServer"
import { Rpc, RpcClient, RpcGroup, RpcSerialization, RpcServer } from "@effect/rpc"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Layer, Schedule, Schema, Scope, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Listener, NetError, Socket } from "../src/index.js"
import * as Platform from "../src/Platform.js"
import { useTestCerts } from "./helpers/certs.js"

const certs = useTestCerts()
const HOST = "127.0.0.1"
const MiB = 1024 * 1024

let dir: string
beforeAll(() => void (dir = fs.mkdtempSync(os.tmpdir() + "/es-rpc-")))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
let unique = 0

class Api extends RpcGroup.make(
  Rpc.make("Echo", { payload: { text: Schema.String }, success: Schema.String }),
  Rpc.make("Count", { payload: { n: Schema.Number }, success: Schema.Number, stream: true }),
  Rpc.make("Dial", { payload: { port: Schema.Number }, success: Schema.String, error: NetError.NetErrorSchema })
) {}

const handlers = Api.toLayer({
  Echo: ({ text }) => Effect.succeed(text),
  Count: ({ n }) => Stream.range(1, n),
  // A real NetError from a real failed connect, sent back to the client.
  Dial: ({ port }) => Effect.scoped(Effect.as(Socket.connectTcp(HOST, port), "connected"))
})

/** Our rpc server over `listener`, in the current scope. */
const serveRpc = (listener: Listener.Listener, serialization: Layer.Layer<RpcSerialization.RpcSerialization>) =>
  Layer.build(
    RpcServer.layer(Api).pipe(
      Layer.provide(handlers),
      Layer.provide(RpcServer.layerProtocolSocketServer),
      Layer.provide(Platform.layerSocketServer),
      Layer.provide(Layer.succeed(Listener.Listener, listener)),
      Layer.provide(serialization)
    )
  )

/** An rpc client over any platform Socket layer, in the current scope. */
const rpcClient = (
  socket: Layer.Layer<import("@effect/platform/Socket").Socket, unknown>,
  serialization: Layer.Layer<RpcSerialization.RpcSerialization>
) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      RpcClient.layerProtocolSocket({ retryTransientErrors: true }).pipe(
        Layer.provide(socket),
        Layer.provide(serialization)
      )
    )
    return yield* Effect.provide(RpcClient.make(Api), context)
  })

const portOf = (listener: Listener.Listener): number => {
  const address = listener.addresses[0]!
  return address._tag === "InetAddress" ? address.port : 0
}

interface Transport {
  readonly name: string
  readonly listen: Effect.Effect<Listener.Listener, unknown, Scope.Scope>
  readonly connectable: (listener: Listener.Listener) => Socket.Connectable
}

const transports: ReadonlyArray<Transport> = [
  {
    name: "TCP",
    listen: Listener.createTcpListener({ localHost: HOST }),
    connectable: (listener) => Socket.tcpConnectable(HOST, portOf(listener))
  },
  {
    name: "UNIX",
    listen: Effect.suspend(() => Listener.createUnixListener(path.join(dir, `rpc${++unique}.sock`))),
    connectable: (listener) => {
      const address = listener.addresses[0]!
      return Socket.unixConnectable(address._tag === "UnixAddress" ? address.path : "")
    }
  },
  {
    name: "TLS",
    listen: Effect.suspend(() =>
      Listener.createTcpListener({ localHost: HOST, tls: { cert: certs().server.cert, key: certs().server.key } })
    ),
    connectable: (listener) => Socket.tcpConnectable(HOST, portOf(listener), { tls: { ca: certs().ca.cert } })
  },
  {
    name: "mutual TLS",
    listen: Effect.suspend(() =>
      Listener.createTcpListener({
        localHost: HOST,
        tls: {
          cert: certs().server.cert,
          key: certs().server.key,
          ca: certs().ca.cert,
          requestCert: true,
          rejectUnauthorized: true
        }
      })
    ),
    connectable: (listener) =>
      Socket.tcpConnectable(HOST, portOf(listener), {
        tls: { ca: certs().ca.cert, cert: certs().client.cert, key: certs().client.key }
      })
  }
]

const serializations = [
  { name: "ndjson", layer: RpcSerialization.layerNdjson },
  { name: "MessagePack", layer: RpcSerialization.layerMsgPack }
] as const

/** A listener, our rpc server on it, and our rpc client to it. */
const setUp = (transport: Transport, serialization: Layer.Layer<RpcSerialization.RpcSerialization>) =>
  Effect.gen(function*() {
    const listener = yield* transport.listen
    yield* serveRpc(listener, serialization)
    return yield* rpcClient(Platform.layerSocket(transport.connectable(listener)), serialization)
  })

const bounded = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.timeoutFail(self, { duration: "20 seconds", onTimeout: () => new Error("timed out") })

for (const transport of transports) {
  for (const serialization of serializations) {
    describe(`rpc over ${transport.name}, ${serialization.name}`, () => {
      it.scopedLive("a plain call", () =>
        Effect.gen(function*() {
          const client = yield* setUp(transport, serialization.layer)
          expect(yield* bounded(client.Echo({ text: "hello" }))).toBe("hello")
        }))

      it.scopedLive("a streaming call", () =>
        Effect.gen(function*() {
          const client = yield* setUp(transport, serialization.layer)
          const all = yield* bounded(Stream.runCollect(client.Count({ n: 1000 })))
          expect(Chunk.toReadonlyArray(all)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1))
        }))

      it.scopedLive("200 concurrent calls", () =>
        Effect.gen(function*() {
          const client = yield* setUp(transport, serialization.layer)
          const results = yield* bounded(Effect.forEach(
            Array.from({ length: 200 }, (_, i) => i),
            (i) => client.Echo({ text: `call ${i}` }),
            { concurrency: "unbounded" }
          ))
          expect(results).toEqual(Array.from({ length: 200 }, (_, i) => `call ${i}`))
        }))

      it.scopedLive("a 4 MiB payload", () =>
        Effect.gen(function*() {
          const client = yield* setUp(transport, serialization.layer)
          const big = "0123456789abcdef".repeat((4 * MiB) / 16)
          const back = yield* bounded(client.Echo({ text: big }))
          expect(back.length).toBe(big.length)
          expect(back === big).toBe(true)
        }))

      it.scopedLive("a NetError crosses the wire typed", () =>
        Effect.gen(function*() {
          const client = yield* setUp(transport, serialization.layer)
          const closed = yield* Listener.createTcpListener({ localHost: HOST })
          const port = portOf(closed)
          yield* closed.close
          const error = yield* bounded(Effect.flip(client.Dial({ port })))
          expect(error).toBeInstanceOf(NetError.ConnectError)
          expect(NetError.isNetError(error)).toBe(true)
          const connectError = error as NetError.ConnectError
          expect(connectError.reason).toBe("ConnectionRefused")
          expect(connectError.message).toContain(`cannot connect to ${HOST}:${port}: ConnectionRefused`)
          expect(typeof connectError.attempts[0]?.cause).toBe("string")
        }))
    })
  }
}

describe("rpc over mutual TLS", () => {
  it.scopedLive("a client without a certificate gets no answer", () =>
    Effect.gen(function*() {
      const mutual = transports[3]!
      const listener = yield* mutual.listen
      yield* serveRpc(listener, RpcSerialization.layerNdjson)
      const client = yield* rpcClient(
        Platform.layerSocket(Socket.tcpConnectable(HOST, portOf(listener), { tls: { ca: certs().ca.cert } })),
        RpcSerialization.layerNdjson
      )
      const exit = yield* Effect.exit(Effect.timeout(client.Echo({ text: "x" }), "3 seconds"))
      expect(Exit.isFailure(exit)).toBe(true)
    }))
})

describe("rpc across implementations", () => {
  it.scopedLive("our server answers @effect/platform-node's NodeSocket client", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: HOST })
      yield* serveRpc(listener, RpcSerialization.layerNdjson)
      const client = yield* rpcClient(
        NodeSocket.layerNet({ host: HOST, port: portOf(listener) }),
        RpcSerialization.layerNdjson
      )
      expect(yield* bounded(client.Echo({ text: "from node" }))).toBe("from node")
      const all = yield* bounded(Stream.runCollect(client.Count({ n: 50 })))
      expect(Chunk.size(all)).toBe(50)
    }))

  it.scopedLive("our client calls @effect/platform-node's NodeSocketServer", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        Layer.provideMerge(
          RpcServer.layer(Api).pipe(
            Layer.provide(handlers),
            Layer.provide(RpcServer.layerProtocolSocketServer),
            Layer.provide(RpcSerialization.layerMsgPack)
          ),
          NodeSocketServer.layer({ host: HOST, port: 0 })
        )
      )
      const address = yield* Effect.provide(SocketServer.SocketServer, context).pipe(Effect.map((s) => s.address))
      const port = address._tag === "TcpAddress" ? address.port : 0
      const client = yield* rpcClient(
        Platform.layerSocket(Socket.tcpConnectable(HOST, port)),
        RpcSerialization.layerMsgPack
      )
      expect(yield* bounded(client.Echo({ text: "to node" }))).toBe("to node")
      const all = yield* bounded(Stream.runCollect(client.Count({ n: 50 })))
      expect(Chunk.size(all)).toBe(50)
    }))
})

describe("rpc reconnection", () => {
  it.scopedLive("a client reconnects when its server restarts on the same port", () =>
    Effect.gen(function*() {
      const first = yield* Scope.make()
      const listener = yield* Scope.extend(Listener.createTcpListener({ localHost: HOST }), first)
      const port = portOf(listener)
      yield* Scope.extend(serveRpc(listener, RpcSerialization.layerNdjson), first)
      const client = yield* rpcClient(
        Platform.layerSocket(Socket.tcpConnectable(HOST, port)),
        RpcSerialization.layerNdjson
      )
      expect(yield* bounded(client.Echo({ text: "before" }))).toBe("before")

      yield* Scope.close(first, Exit.void)
      const restarted = yield* Listener.createTcpListener({ localHost: HOST, localPort: port })
      yield* serveRpc(restarted, RpcSerialization.layerNdjson)
      const after = yield* bounded(
        client.Echo({ text: "after" }).pipe(Effect.retry(Schedule.spaced("100 millis")))
      )
      expect(after).toBe("after")
    }))
})
