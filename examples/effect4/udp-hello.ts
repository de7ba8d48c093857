/**
 * AnyIO's UDP "hello" service: reply `Hello, <packet>` to every datagram's sender.
 *
 *   npx tsx examples/effect4/udp-hello.ts [--host HOST] [--port 1234]
 */
import { Console, Effect, Stream } from "effect"
import { Datagram } from "../../src/effect4/index.js"
import { flags, formatAddress, isMain, port, run } from "./lib/cli.js"

/** Binds, announces `listening on <address>`, replies to every datagram until interrupted. */
export const udpHello = (options: {
  readonly host?: string | undefined
  readonly port: number
  readonly announce?: (line: string) => Effect.Effect<void>
}) =>
  Effect.scoped(Effect.gen(function*() {
    const udp = yield* Datagram.createUdpSocket(
      options.host ? { localHost: options.host, localPort: options.port } : { family: "IPv4", localPort: options.port }
    )
    yield* (options.announce ?? Console.log)(`listening on ${formatAddress(udp.attributes.localAddress)}`)
    yield* udp.stream.pipe(
      Stream.runForEach(([packet, [host, port]]) =>
        udp.sendto(Buffer.concat([Buffer.from("Hello, "), packet]), host, port)
      )
    )
  }))

if (isMain(import.meta.url)) {
  const args = flags({ host: "", port: "1234" })
  run(udpHello({ host: args.host || undefined, port: port(args.port) }))
}
