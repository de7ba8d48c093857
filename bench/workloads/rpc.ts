/**
 * W9: @effect/rpc round trips on 127.0.0.1, with identical rpc code (one `RpcGroup`, the same
 * `RpcServer.layer` + `RpcServer.layerProtocolSocketServer` and `RpcClient.layerProtocolSocket`,
 * MessagePack) over two transports: effect-sockets (`Platform.layerSocketServer` on a TCP
 * listener, `Platform.layerSocket(Socket.tcpConnectable(…))`) and @effect/platform-node's
 * `NodeSocketServer.layer` / `NodeSocket.layerNet`, the baseline of the ratios. Client and server
 * in one process. `calls` Echo calls of a 64-character string, `inFlight` at a time (1: one
 * call at a time; 64: a window of 64); figure: calls per second, timed after a first call has
 * opened the connection.
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import type * as PlatformSocket from "@effect/platform/Socket"
import * as SocketServer from "@effect/platform/SocketServer"
import { Rpc, RpcClient, RpcGroup, RpcSerialization, RpcServer } from "@effect/rpc"
import { Effect, Layer, Schema } from "effect"
import type * as Scope from "effect/Scope"
import { Listener, Socket } from "../../src/index.js"
import * as Platform from "../../src/Platform.js"
import { type Impl, now, type Workload } from "../lib.js"
import { portOf } from "./transports.js"

class Api extends RpcGroup.make(
  Rpc.make("Echo", { payload: { text: Schema.String }, success: Schema.String })
) {}

const handlers = Api.toLayer({ Echo: ({ text }) => Effect.succeed(text) })

const serialization = RpcSerialization.layerMsgPack

/** The rpc server over whatever `SocketServer` is provided. */
const rpcServer = RpcServer.layer(Api).pipe(
  Layer.provide(handlers),
  Layer.provide(RpcServer.layerProtocolSocketServer),
  Layer.provide(serialization)
)

const TEXT = "x".repeat(64)

/** A transport: a bound `SocketServer` (in the current scope) and its client Socket layers. */
interface Transport {
  readonly listen: Effect.Effect<
    { readonly server: Layer.Layer<SocketServer.SocketServer>; readonly port: number },
    unknown,
    Scope.Scope
  >
  readonly socket: (port: number) => Layer.Layer<PlatformSocket.Socket, unknown>
}

/** Serves `Api` on the transport, then times `calls` calls, `inFlight` at a time. */
const measure = (transport: Transport): Impl => ({ calls, inFlight }) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const { port, server } = yield* transport.listen
    yield* Layer.build(rpcServer.pipe(Layer.provide(server)))
    const protocol = yield* Layer.build(
      RpcClient.layerProtocolSocket().pipe(Layer.provide(transport.socket(port)), Layer.provide(serialization))
    )
    const client = yield* Effect.provide(RpcClient.make(Api), protocol)
    yield* client.Echo({ text: TEXT })
    const start = now()
    yield* Effect.forEach(Array.from({ length: calls! }), () => client.Echo({ text: TEXT }), {
      concurrency: inFlight!,
      discard: true
    })
    return calls! / ((now() - start) / 1000)
  })))

/** effect-sockets: a TCP listener as the platform SocketServer, a connectable as the Socket. */
const effectSockets: Transport = {
  listen: Effect.map(Listener.createTcpListener({ localHost: "127.0.0.1" }), (listener) => ({
    port: portOf(listener),
    server: Platform.layerSocketServer.pipe(Layer.provide(Layer.succeed(Listener.Listener, listener)))
  })),
  socket: (port) => Platform.layerSocket(Socket.tcpConnectable("127.0.0.1", port))
}

/** @effect/platform-node: NodeSocketServer on port 0, NodeSocket.layerNet to it. */
const platform: Transport = {
  listen: Effect.gen(function*() {
    const context = yield* Layer.build(NodeSocketServer.layer({ host: "127.0.0.1", port: 0 }))
    const { address } = yield* Effect.provide(SocketServer.SocketServer, context)
    return { port: address._tag === "TcpAddress" ? address.port : 0, server: Layer.succeedContext(context) }
  }),
  socket: (port) => NodeSocket.layerNet({ host: "127.0.0.1", port })
}

const impls = { "effect-sockets": measure(effectSockets), "@effect/platform": measure(platform) }

/** The rpc workloads. */
export const rpcWorkloads: ReadonlyArray<Workload> = [
  {
    id: "W9",
    title: "@effect/rpc calls, one at a time (ratio to @effect/platform-node)",
    unit: "calls/s",
    params: { full: { calls: 20_000, inFlight: 1 }, quick: { calls: 500, inFlight: 1 } },
    impls,
    baseline: "@effect/platform"
  },
  {
    id: "W9w",
    title: "@effect/rpc calls, 64 in flight (ratio to @effect/platform-node)",
    unit: "calls/s",
    params: { full: { calls: 100_000, inFlight: 64 }, quick: { calls: 2_000, inFlight: 64 } },
    impls,
    baseline: "@effect/platform"
  }
]
