/**
 * The TCP server over TLS: per client, receive a name and reply `Hello, <name>\n`.
 *
 *   npx tsx examples/effect4/tls-server.ts --cert cert.pem --key key.pem [--host HOST] [--port 1234]
 */
import { Console, Effect } from "effect"
import * as fs from "node:fs"
import { Listener } from "../../src/effect4/index.js"
import { flags, formatAddress, isMain, port, run } from "./lib/cli.js"
import { handle } from "./tcp-server.js"

/** Binds a TLS listener, announces `listening on <address>`, then serves until interrupted. */
export const tlsServer = (options: {
  readonly host?: string | undefined
  readonly port: number
  readonly cert: Buffer
  readonly key: Buffer
  readonly announce?: (line: string) => Effect.Effect<void>
}) =>
  Effect.scoped(Effect.gen(function*() {
    const listener = yield* Listener.createTcpListener({
      localPort: options.port,
      ...(options.host ? { localHost: options.host } : {}),
      tls: { cert: options.cert, key: options.key }
    })
    yield* (options.announce ?? Console.log)(`listening on ${listener.addresses.map(formatAddress).join(", ")}`)
    return yield* listener.serve(handle)
  }))

if (isMain(import.meta.url)) {
  const args = flags({ host: "", port: "1234", cert: "", key: "" })
  if (!args.cert || !args.key) {
    console.error("error: --cert FILE and --key FILE are required")
    process.exit(2)
  }
  run(tlsServer({
    host: args.host || undefined,
    port: port(args.port),
    cert: fs.readFileSync(args.cert),
    key: fs.readFileSync(args.key)
  }))
}
