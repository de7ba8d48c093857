/**
 * AnyIO's TCP server: per client, receive up to 1024 bytes as a name and reply `Hello, <name>\n`.
 *
 *   npx tsx examples/effect4/tcp-server.ts [--host HOST] [--port 1234]
 */
import { Console, Effect } from "effect"
import { type ByteStream, Listener } from "../../src/effect4/index.js"
import { flags, formatAddress, isMain, port, run } from "./lib/cli.js"

/** The connection handler: the stream is closed by `serve` when it returns. */
export const handle = (client: ByteStream.ByteStream) =>
  Effect.gen(function*() {
    const name = yield* client.receive(1024)
    yield* client.send(Buffer.concat([Buffer.from("Hello, "), name, Buffer.from("\n")]))
  })

/** Binds, announces `listening on <address>`, then serves until interrupted. */
export const tcpServer = (options: {
  readonly host?: string | undefined
  readonly port: number
  readonly announce?: (line: string) => Effect.Effect<void>
}) =>
  Effect.scoped(Effect.gen(function*() {
    const listener = yield* Listener.createTcpListener({
      localPort: options.port,
      ...(options.host ? { localHost: options.host } : {})
    })
    yield* (options.announce ?? Console.log)(`listening on ${listener.addresses.map(formatAddress).join(", ")}`)
    return yield* listener.serve(handle)
  }))

if (isMain(import.meta.url)) {
  const args = flags({ host: "", port: "1234" })
  run(tcpServer({ host: args.host || undefined, port: port(args.port) }))
}
