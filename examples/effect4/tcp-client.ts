/**
 * AnyIO's TCP client: send `Client\n` and print the reply.
 *
 *   npx tsx examples/effect4/tcp-client.ts [--host localhost] [--port 1234]
 */
import { Console, Effect } from "effect"
import { Socket } from "../../src/effect4/index.js"
import { flags, isMain, port, run } from "./lib/cli.js"

/** Connects, sends `Client\n`, returns the reply as text. */
export const tcpClient = (options: { readonly host: string; readonly port: number }) =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* Socket.connectTcp(options.host, options.port)
    yield* client.send("Client\n")
    const response = yield* client.receive()
    return Buffer.from(response).toString("utf8")
  }))

if (isMain(import.meta.url)) {
  const args = flags({ host: "localhost", port: "1234" })
  run(Effect.flatMap(tcpClient({ host: args.host, port: port(args.port) }), (reply) => Console.log(reply.trimEnd())))
}
