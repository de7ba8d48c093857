/**
 * An @effect/rpc client over effect-sockets (`effect-sockets/Platform`): calls the `Api` of
 * examples/lib/rpcApi.ts on examples/rpc-server.ts, over TCP (optionally TLS) or a UNIX
 * socket. It dials through a connectable, so it reconnects if the server restarts.
 *
 *   npx tsx examples/rpc-client.ts [--host localhost] [--port 1234] [--name Client]
 *   npx tsx examples/rpc-client.ts --path /tmp/rpc.sock
 *   npx tsx examples/rpc-client.ts --tls [--ca cert.pem] [--host localhost] [--port 1234]
 *
 * Prints the greeting, the streamed numbers 1..5 on one line, and what the server got probing
 * a port nobody listens on (a ConnectError, decoded from the wire).
 */
import { RpcClient, RpcSerialization } from "@effect/rpc"
import { Chunk, Console, Effect, Layer, Stream } from "effect"
import * as fs from "node:fs"
import { Socket } from "../src/index.js"
import * as Platform from "../src/Platform.js"
import { flags, isMain, port, run, switchFlag } from "./lib/cli.js"
import { Api } from "./lib/rpcApi.js"

export interface RpcClientOptions {
  readonly host: string
  readonly port: number
  /** A UNIX socket path: connect there instead of over TCP. */
  readonly path?: string | undefined
  /** TLS, trusting `ca` (or the system's CAs). */
  readonly tls?: { readonly ca?: Buffer | string | undefined } | undefined
  readonly name?: string | undefined
}

/** Makes the three calls; returns the lines to print. */
export const rpcClient = (options: RpcClientOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const connectable: Socket.Connectable = options.path
      ? Socket.unixConnectable(options.path)
      : Socket.tcpConnectable(options.host, options.port, {
        ...(options.tls ? { tls: options.tls.ca ? { ca: options.tls.ca } : true } : {})
      })
    const protocol = yield* Layer.build(
      RpcClient.layerProtocolSocket({ retryTransientErrors: true }).pipe(
        Layer.provide(Platform.layerSocket(connectable)),
        Layer.provide(RpcSerialization.layerNdjson)
      )
    )
    const client = yield* Effect.provide(RpcClient.make(Api), protocol)
    const greeting = yield* client.Greet({ name: options.name ?? "Client" })
    const numbers = yield* Stream.runCollect(client.Count({ upTo: 5 }))
    const probe = yield* client.Probe({ host: "127.0.0.1", port: 1 }).pipe(
      Effect.catchTag("ConnectError", (error) => Effect.succeed(`${error._tag}: ${error.message}`))
    )
    return [greeting, Chunk.toReadonlyArray(numbers).join(" "), probe]
  }))

if (isMain(import.meta.url)) {
  const tls = switchFlag("tls")
  const args = flags({ host: "localhost", port: "1234", path: "", ca: "", name: "Client" })
  run(Effect.flatMap(
    rpcClient({
      host: args.host,
      port: port(args.port),
      path: args.path || undefined,
      tls: tls || args.ca !== "" ? { ca: args.ca ? fs.readFileSync(args.ca) : undefined } : undefined,
      name: args.name
    }),
    (lines) => Console.log(lines.join("\n"))
  ))
}
