/**
 * The TCP client over verified TLS: send `Client\n` and print the reply.
 *
 *   npx tsx examples/effect4/tls-client.ts [--host localhost] [--port 1234] [--ca ca.pem]
 *
 * Without `--ca` the system's CAs are trusted; the server's name is always verified.
 */
import { Console, Effect } from "effect"
import * as fs from "node:fs"
import { Socket } from "../../src/effect4/index.js"
import { flags, isMain, port, run } from "./lib/cli.js"

/** Connects with TLS, sends `Client\n`, returns the reply as text. */
export const tlsClient = (
  options: { readonly host: string; readonly port: number; readonly ca?: Buffer | undefined }
) =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* Socket.connectTcp(options.host, options.port, {
      tls: options.ca ? { ca: options.ca } : true
    })
    yield* client.send("Client\n")
    const response = yield* client.receive()
    return Buffer.from(response).toString("utf8")
  }))

if (isMain(import.meta.url)) {
  const args = flags({ host: "localhost", port: "1234", ca: "" })
  run(Effect.flatMap(
    tlsClient({ host: args.host, port: port(args.port), ca: args.ca ? fs.readFileSync(args.ca) : undefined }),
    (reply) => Console.log(reply.trimEnd())
  ))
}
