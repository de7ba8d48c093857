/**
 * effect/rpc (Effect 4) over the Effect 4 edition, through `Platform`: a real RpcGroup (a plain
 * call, a streaming call, 200 concurrent calls, a 4 MiB payload, a NetError crossing the wire)
 * over TCP, UNIX and TLS with ndjson; our server answered by @effect/platform-node 4's NodeSocket
 * client and our client against its NodeSocketServer. Live clock throughout: RpcClient's
 * reconnect schedule and our timeouts need real time.
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Schedule, Schema, Scope, Stream } from "effect"
import { Rpc, RpcClient, RpcGroup, RpcSerialization, RpcServer } from "effect/rpc"
import type * as PlatformSocket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Listener, NetError, Platform, Socket } from "../../src/effect4/index.js"
import { makeTestCerts, removeTestCerts, type TestCerts } from "../helpers/certs.js"

const HOST = "127.0.0.1"
const MiB = 1024 * 1024

let dir: string
let certs: TestCerts
beforeAll(() => {
  dir = fs.mkdtempSync(os.tmpdir() + "/es4-rpc-")
  certs = makeTestCerts()
})
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true })
  removeTestCerts(certs)
})
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
const serveRpc = (listener: Listener.Listener) =>
  Layer.build(
    RpcServer.layer(Api).pipe(
      Layer.provide(handlers),
      Layer.provide(RpcServer.layerProtocolSocketServer),
      Layer.provide(Platform.layerSocketServer),
      Layer.provide(Layer.succeed(Listener.Listener, listener)),
      Layer.provide(RpcSerialization.layerNdjson)
    )
  )

/** An rpc client over any Socket layer, in the current scope. */
const rpcClient = (socket: Layer.Layer<PlatformSocket.Socket, unknown>) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      RpcClient.layerProtocolSocket({ retryTransientErrors: true }).pipe(
        Layer.provide(socket),
        Layer.provide(RpcSerialization.layerNdjson)
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
    listen: Effect.suspend(() => Listener.createTcpListener({ localHost: HOST })),
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
      Listener.createTcpListener({ localHost: HOST, tls: { cert: certs.server.cert, key: certs.server.key } })
    ),
    connectable: (listener) => Socket.tcpConnectable(HOST, portOf(listener), { tls: { ca: certs.ca.cert } })
  }
]

/** A listener, our rpc server on it, and our rpc client to it. */
const setUp = (transport: Transport) =>
  Effect.gen(function*() {
    const listener = yield* transport.listen
    yield* serveRpc(listener)
    return yield* rpcClient(Platform.layerSocket(transport.connectable(listener)))
  })

const bounded = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.timeoutOrElse(self, { duration: "20 seconds", orElse: () => Effect.fail(new Error("timed out")) })

for (const transport of transports) {
  describe(`rpc over ${transport.name} (Effect 4 edition)`, () => {
    it.live("a plain call and a streaming call", () =>
      Effect.gen(function*() {
        const client = yield* setUp(transport)
        expect(yield* bounded(client.Echo({ text: "hello" }))).toBe("hello")
        const all = yield* bounded(Stream.runCollect(client.Count({ n: 1000 })))
        expect(all).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1))
      }))

    it.live("200 concurrent calls", () =>
      Effect.gen(function*() {
        const client = yield* setUp(transport)
        const results = yield* bounded(Effect.forEach(
          Array.from({ length: 200 }, (_, i) => i),
          (i) => client.Echo({ text: `call ${i}` }),
          { concurrency: "unbounded" }
        ))
        expect(results).toEqual(Array.from({ length: 200 }, (_, i) => `call ${i}`))
      }))

    it.live("a 4 MiB payload", () =>
      Effect.gen(function*() {
        const client = yield* setUp(transport)
        const big = "0123456789abcdef".repeat((4 * MiB) / 16)
        const back = yield* bounded(client.Echo({ text: big }))
        expect(back.length).toBe(big.length)
        expect(back === big).toBe(true)
      }))

    it.live("a NetError crosses the wire typed", () =>
      Effect.gen(function*() {
        const client = yield* setUp(transport)
        const closed = yield* Listener.createTcpListener({ localHost: HOST })
        const port = portOf(closed)
        yield* closed.close
        const error = yield* bounded(Effect.flip(client.Dial({ port })))
        expect(NetError.isNetError(error)).toBe(true)
        expect(error).toMatchObject({ _tag: "ConnectError", reason: "ConnectionRefused" })
      }))
  })
}

describe("rpc across implementations (Effect 4 edition)", () => {
  it.live("our server answers @effect/platform-node 4's NodeSocket client", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: HOST })
      yield* serveRpc(listener)
      const client = yield* rpcClient(NodeSocket.layerNet({ host: HOST, port: portOf(listener) }))
      expect(yield* bounded(client.Echo({ text: "from node" }))).toBe("from node")
      expect((yield* bounded(Stream.runCollect(client.Count({ n: 50 })))).length).toBe(50)
    }))

  it.live("our client calls @effect/platform-node 4's NodeSocketServer", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        Layer.provideMerge(
          RpcServer.layer(Api).pipe(
            Layer.provide(handlers),
            Layer.provide(RpcServer.layerProtocolSocketServer),
            Layer.provide(RpcSerialization.layerNdjson)
          ),
          NodeSocketServer.layer({ host: HOST, port: 0 })
        )
      )
      const address = Context.get(context, SocketServer.SocketServer).address
      const port = "port" in address ? address.port : 0
      const client = yield* rpcClient(Platform.layerSocket(Socket.tcpConnectable(HOST, port)))
      expect(yield* bounded(client.Echo({ text: "to node" }))).toBe("to node")
      expect((yield* bounded(Stream.runCollect(client.Count({ n: 50 })))).length).toBe(50)
    }))
})

describe("rpc reconnection (Effect 4 edition)", () => {
  it.live("a client reconnects when its server restarts on the same port", () =>
    Effect.gen(function*() {
      const first = yield* Scope.make()
      const listener = yield* Scope.provide(Listener.createTcpListener({ localHost: HOST }), first)
      const port = portOf(listener)
      yield* Scope.provide(serveRpc(listener), first)
      const client = yield* rpcClient(Platform.layerSocket(Socket.tcpConnectable(HOST, port)))
      expect(yield* bounded(client.Echo({ text: "before" }))).toBe("before")

      yield* Scope.close(first, Exit.void)
      const restarted = yield* Listener.createTcpListener({ localHost: HOST, localPort: port })
      yield* serveRpc(restarted)
      const after = yield* bounded(client.Echo({ text: "after" }).pipe(Effect.retry(Schedule.spaced("100 millis"))))
      expect(after).toBe("after")
    }))
})
