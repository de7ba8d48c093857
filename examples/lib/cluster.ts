/**
 * @effect/cluster over effect-sockets: a runner transport made of our `SocketServer`
 * (`Platform.layerSocketServer` over `Listener.layerTcp`) and a `Runners.RpcClientProtocol` that
 * dials other runners with `Socket.tcpConnectable` through `Platform.toSocket`, plus a runner
 * layer storing shards and messages in an SQLite file (`@effect/sql-sqlite-node`), so runners in
 * separate processes on one machine share it.
 *
 * This is what `@effect/platform-node`'s `NodeClusterSocket.layer` assembles over `NodeSocket`
 * and `NodeSocketServer`. It lives here, not in `effect-sockets/Platform`: it imports
 * `@effect/cluster` and `@effect/rpc`, and the Platform subpath needs only `@effect/platform`.
 */
import {
  RunnerAddress,
  RunnerHealth,
  Runners,
  ShardingConfig,
  SocketRunner,
  SqlMessageStorage,
  SqlRunnerStorage
} from "@effect/cluster"
import { Socket as PlatformSocket } from "@effect/platform"
import { RpcClient, RpcSerialization } from "@effect/rpc"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Layer, Option } from "effect"
import { Listener, Socket } from "../../src/index.js"
import * as Platform from "../../src/Platform.js"

/**
 * Dials a runner with `Socket.tcpConnectable` for every connection the rpc client (re)opens,
 * as `NodeClusterSocket.layerClientProtocol` does with `NodeSocket.makeNet` (same 1 s open
 * timeout). A runner that is down surfaces as `RunnerUnavailable` in `Runners`, which retries.
 */
export const layerClientProtocol: Layer.Layer<Runners.RpcClientProtocol, never, RpcSerialization.RpcSerialization> =
  Layer.effect(
    Runners.RpcClientProtocol,
    Effect.map(
      RpcSerialization.RpcSerialization,
      (serialization) => (address: RunnerAddress.RunnerAddress) =>
        Effect.flatMap(
          Platform.toSocket(Socket.tcpConnectable(address.host, address.port), { openTimeout: "1 second" }),
          (socket) =>
            RpcClient.makeProtocolSocket().pipe(
              Effect.provideService(PlatformSocket.Socket, socket),
              Effect.provideService(RpcSerialization.RpcSerialization, serialization)
            )
        )
    )
  )

export interface RunnerOptions {
  /** The address to listen on; the runner advertises `host` and the port it got (0 picks one). */
  readonly host: string
  readonly port: number
  /** The SQLite file shared by every runner of the cluster (created if missing). */
  readonly sqliteFile: string
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Type"]> | undefined
}

/**
 * A full runner (`SocketRunner.layer`): serves the runner rpcs on our TCP listener, talks to the
 * others through {@link layerClientProtocol}, checks their health by pinging them, and keeps
 * runners, shard locks and messages in SQL. The listener is bound first and the runner
 * advertises the port it really got, so port 0 works (`NodeClusterSocket` needs a fixed one).
 */
export const layerRunner = (options: RunnerOptions) => {
  const listener = Listener.layerTcp({ localHost: options.host, localPort: options.port })
  const config = Layer.effect(
    ShardingConfig.ShardingConfig,
    Effect.map(Listener.TcpListener, (bound) =>
      ShardingConfig.ShardingConfig.of({
        ...ShardingConfig.defaults,
        ...options.shardingConfig,
        runnerAddress: Option.some(
          RunnerAddress.RunnerAddress.make({ host: options.host, port: bound.addresses[0]!.port })
        ),
        runnerListenAddress: Option.none()
      }))
  )
  return SocketRunner.layer.pipe(
    Layer.provide(Platform.layerSocketServer),
    Layer.provide(layerClientProtocol),
    Layer.provide(RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(layerClientProtocol))),
    Layer.provideMerge(Layer.orDie(SqlMessageStorage.layer)),
    Layer.provide(Layer.orDie(SqlRunnerStorage.layer)),
    Layer.provideMerge(config),
    Layer.provide(RpcSerialization.layerMsgPack),
    Layer.provide(Layer.orDie(SqliteClient.layer({ filename: options.sqliteFile }))),
    Layer.provideMerge(listener)
  )
}
