/**
 * AnyIO's connected UDP client: send `Hi there!\n` to one peer, then print its reply if one
 * comes within a second.
 *
 *   npx tsx examples/effect4/udp-connected.ts [--host localhost] [--port 1234]
 */
import { Console, Effect, Option } from "effect"
import { Datagram } from "../../src/effect4/index.js"
import { flags, isMain, port, run } from "./lib/cli.js"

/** Sends `Hi there!\n`; returns the reply, if any arrives within a second. */
export const udpConnected = (options: { readonly host: string; readonly port: number }) =>
  Effect.scoped(Effect.gen(function*() {
    const udp = yield* Datagram.createConnectedUdpSocket(options.host, options.port)
    yield* udp.send("Hi there!\n")
    const reply = yield* Effect.timeoutOption(udp.receive, "1 second")
    return Option.map(reply, (bytes) => Buffer.from(bytes).toString("utf8"))
  }))

if (isMain(import.meta.url)) {
  const args = flags({ host: "localhost", port: "1234" })
  run(
    Effect.flatMap(
      udpConnected({ host: args.host, port: port(args.port) }),
      (reply) =>
        Console.log(Option.match(reply, {
          onNone: () => "sent; no reply",
          onSome: (text) => text.trimEnd()
        }))
    )
  )
}
