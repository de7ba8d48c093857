/**
 * @effect/cluster over effect-sockets: a runner transport made of our `SocketServer`
 * (`Platform.layerSocketServer` over one of our listeners) and a `Runners.RpcClientProtocol` that
 * dials other runners with a connectable through `Platform.toSocket`, plus a runner layer storing
 * shards and messages in an SQLite file (`@effect/sql-sqlite-node`), so runners in separate
 * processes on one machine share it. Three transports (`RunnerTransport`): plain TCP, UNIX
 * stream sockets in a shared directory, and TLS (mutual TLS when the server asks for a client
 * certificate).
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
import { Context, Effect, Layer, Option, type Scope } from "effect"
import * as path from "node:path"
import { type ByteStream, Listener, type NetError, Socket } from "../../src/index.js"
import * as Platform from "../../src/Platform.js"

/**
 * How runners reach each other; every runner of a cluster uses the same one.
 *
 * - `Tcp`: the runner listens on `host:port` and is dialled there.
 * - `Unix`: the runner listens on the UNIX stream socket {@link unixSocketPath}`(dir, port)`;
 *   cluster addresses runners by host and port only, so the port names the socket file and the
 *   host is just a label (every runner shares `dir`, so they are on one machine).
 * - `Tls`: TCP with TLS; `server` are the listener's options (certificate, key, and for mutual
 *   TLS `ca`, `requestCert` and `rejectUnauthorized`), `client` the dialler's (`ca`, and the
 *   client certificate and key for mutual TLS).
 */
export type RunnerTransport =
  | { readonly _tag: "Tcp" }
  | { readonly _tag: "Unix"; readonly dir: string }
  | { readonly _tag: "Tls"; readonly server: Socket.TlsOptions; readonly client: Socket.TlsOptions }

/** The socket file of the runner advertised as `host:port` under the `Unix` transport: `DIR/runner-PORT.sock`. */
export const unixSocketPath = (dir: string, port: number): string => path.join(dir, `runner-${port}.sock`)

/** The runner's "port" 0 under `Unix` takes the first free one of 1..UNIX_PORTS. */
const UNIX_PORTS = 1000

const connectable = (transport: RunnerTransport, address: RunnerAddress.RunnerAddress): Socket.Connectable =>
  transport._tag === "Unix"
    ? Socket.unixConnectable(unixSocketPath(transport.dir, address.port))
    : transport._tag === "Tls"
    ? Socket.tcpConnectable(address.host, address.port, { tls: transport.client })
    : Socket.tcpConnectable(address.host, address.port)

/**
 * Dials a runner over `transport` for every connection the rpc client (re)opens, as
 * `NodeClusterSocket.layerClientProtocol` does with `NodeSocket.makeNet` (same 1 s open timeout,
 * which covers the TLS handshake too). A runner that is down surfaces as `RunnerUnavailable` in
 * `Runners`, which retries.
 */
export const layerClientProtocol = (
  transport: RunnerTransport
): Layer.Layer<Runners.RpcClientProtocol, never, RpcSerialization.RpcSerialization> =>
  Layer.effect(
    Runners.RpcClientProtocol,
    Effect.map(
      RpcSerialization.RpcSerialization,
      (serialization) => (address: RunnerAddress.RunnerAddress) =>
        Effect.flatMap(
          Platform.toSocket(connectable(transport, address), { openTimeout: "1 second" }),
          (socket) =>
            RpcClient.makeProtocolSocket().pipe(
              Effect.provideService(PlatformSocket.Socket, socket),
              Effect.provideService(RpcSerialization.RpcSerialization, serialization)
            )
        )
    )
  )

interface BoundRunner {
  readonly listener: Listener.Listener
  readonly port: number
}

type BindError =
  | NetError.ListenError
  | NetError.ResolveError
  | NetError.InvalidArgumentError
  | NetError.UnsupportedError

/**
 * Binds the runner's listener: the listener and the port to advertise (the one it got for TCP
 * and TLS; for UNIX the requested one, or with 0 the first of 1..1000 whose socket file is not
 * live; stale files of crashed runners are replaced). UNIX socket files go when the runner stops.
 */
const bind = (
  transport: RunnerTransport,
  host: string,
  port: number
): Effect.Effect<BoundRunner, BindError, Scope.Scope> => {
  if (transport._tag !== "Unix") {
    const options = { localHost: host, localPort: port }
    const listen: Effect.Effect<
      Listener.Listener<ByteStream.ByteStream, ByteStream.InetAddress>,
      BindError,
      Scope.Scope
    > = transport._tag === "Tls"
      ? Listener.createTcpListener({ ...options, tls: transport.server })
      : Listener.createTcpListener(options)
    return Effect.map(listen, (listener) => ({ listener, port: listener.addresses[0]!.port }))
  }
  const at = (port: number) =>
    Effect.map(
      Listener.createUnixListener(unixSocketPath(transport.dir, port), { unlinkOnClose: true }),
      (listener): BoundRunner => ({ listener, port })
    )
  const firstFree = (candidate: number): Effect.Effect<BoundRunner, BindError, Scope.Scope> =>
    at(candidate).pipe(
      Effect.catchIf(
        (error) => error._tag === "ListenError" && error.reason === "AddressInUse" && candidate < UNIX_PORTS,
        () => firstFree(candidate + 1)
      )
    )
  return port === 0 ? firstFree(1) : at(port)
}

export interface RunnerOptions {
  /** The address to listen on; the runner advertises `host` and the port it got (0 picks one). */
  readonly host: string
  readonly port: number
  /** How runners reach each other (default `Tcp`). */
  readonly transport?: RunnerTransport | undefined
  /** The SQLite file shared by every runner of the cluster (created if missing). */
  readonly sqliteFile: string
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Type"]> | undefined
}

/**
 * A full runner (`SocketRunner.layer`): serves the runner rpcs on our listener, talks to the
 * others through {@link layerClientProtocol}, checks their health by pinging them, and keeps
 * runners, shard locks and messages in SQL. The listener is bound first and the runner
 * advertises the port it really got, so port 0 works (`NodeClusterSocket` needs a fixed one).
 */
export const layerRunner = (options: RunnerOptions) => {
  const transport = options.transport ?? { _tag: "Tcp" }
  const listenerAndConfig = Layer.scopedContext(
    Effect.map(
      bind(transport, options.host, options.port),
      ({ listener, port }) =>
        Context.make(Listener.Listener, listener).pipe(
          Context.add(
            ShardingConfig.ShardingConfig,
            ShardingConfig.ShardingConfig.of({
              ...ShardingConfig.defaults,
              ...options.shardingConfig,
              runnerAddress: Option.some(RunnerAddress.RunnerAddress.make({ host: options.host, port })),
              runnerListenAddress: Option.none()
            })
          )
        )
    )
  )
  const clientProtocol = layerClientProtocol(transport)
  return SocketRunner.layer.pipe(
    Layer.provide(Platform.layerSocketServer),
    Layer.provide(clientProtocol),
    Layer.provide(RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(clientProtocol))),
    Layer.provideMerge(Layer.orDie(SqlMessageStorage.layer)),
    Layer.provide(Layer.orDie(SqlRunnerStorage.layer)),
    Layer.provide(RpcSerialization.layerMsgPack),
    Layer.provide(Layer.orDie(SqliteClient.layer({ filename: options.sqliteFile }))),
    Layer.provideMerge(listenerAndConfig)
  )
}
