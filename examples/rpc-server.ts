/**
 * An @effect/rpc server over effect-sockets (`effect-sockets/Platform`): the `Api` of
 * examples/lib/rpcApi.ts, on TCP (optionally TLS) or a UNIX socket, serialised as ndjson.
 *
 *   npx tsx examples/rpc-server.ts [--host HOST] [--port 1234]
 *   npx tsx examples/rpc-server.ts --path /tmp/rpc.sock
 *   npx tsx examples/rpc-server.ts --tls [--cert cert.pem --key key.pem] [--port 1234]
 *
 * `--tls` without `--cert` makes a throwaway self-signed certificate for localhost and prints
 * its file, for the client's `--ca`.
 */
import { RpcSerialization, RpcServer } from "@effect/rpc"
import { Console, Effect, Layer } from "effect"
import * as fs from "node:fs"
import { Listener } from "../src/index.js"
import * as Platform from "../src/Platform.js"
import { makeSelfSigned } from "./lib/certs.js"
import { flags, formatAddress, isMain, port, run, switchFlag } from "./lib/cli.js"
import { Api, handlers } from "./lib/rpcApi.js"

export interface RpcServerOptions {
  readonly host?: string | undefined
  readonly port: number
  /** A UNIX socket path: listen there instead of on TCP. */
  readonly path?: string | undefined
  readonly tls?: { readonly cert: Buffer | string; readonly key: Buffer | string } | undefined
  readonly announce?: (line: string) => Effect.Effect<void>
}

/** Binds, announces `listening on <address>`, then serves rpcs until interrupted. */
export const rpcServer = (options: RpcServerOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const listener: Listener.Listener = options.path
      ? yield* Listener.createUnixListener(options.path)
      : yield* Listener.createTcpListener({
        localPort: options.port,
        ...(options.host ? { localHost: options.host } : {}),
        ...(options.tls ? { tls: options.tls } : {})
      })
    yield* (options.announce ?? Console.log)(`listening on ${listener.addresses.map(formatAddress).join(", ")}`)
    return yield* Layer.launch(
      RpcServer.layer(Api).pipe(
        Layer.provide(handlers),
        Layer.provide(RpcServer.layerProtocolSocketServer),
        Layer.provide(Platform.layerSocketServer),
        Layer.provide(Layer.succeed(Listener.Listener, listener)),
        Layer.provide(RpcSerialization.layerNdjson)
      )
    )
  }))

if (isMain(import.meta.url)) {
  const tls = switchFlag("tls")
  const args = flags({ host: "", port: "1234", path: "", cert: "", key: "" })
  const certificate = tls && args.cert === "" ? makeSelfSigned() : undefined
  if (certificate) console.log(`self-signed certificate: ${certificate.certFile}`)
  run(rpcServer({
    host: args.host || undefined,
    port: port(args.port),
    path: args.path || undefined,
    tls: certificate
      ? { cert: fs.readFileSync(certificate.certFile), key: fs.readFileSync(certificate.keyFile) }
      : tls || args.cert !== ""
      ? { cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) }
      : undefined
  }))
}
