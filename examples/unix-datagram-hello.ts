/**
 * AnyIO's UNIX datagram "hello" service: bind the path and reply `Hello, <packet>` to each
 * sender's path (an unbound sender cannot be answered and is skipped).
 *
 *   npx tsx examples/unix-datagram-hello.ts [--path /tmp/mysock]
 */
import { Console, Effect, Stream } from "effect"
import { Datagram } from "../src/index.js"
import { flags, formatAddress, isMain, run } from "./lib/cli.js"

/** Binds `path`, announces it, replies to every datagram until interrupted. */
export const unixDatagramHello = (
  options: { readonly path: string; readonly announce?: (line: string) => Effect.Effect<void> }
) =>
  Effect.scoped(Effect.gen(function*() {
    const socket = yield* Datagram.createUnixDatagramSocket({ localPath: options.path })
    yield* (options.announce ?? Console.log)(`listening on ${formatAddress(socket.attributes.localAddress)}`)
    yield* socket.stream.pipe(
      Stream.runForEach(([packet, sender]) =>
        sender === null ? Effect.void : socket.sendto(Buffer.concat([Buffer.from("Hello, "), packet]), sender)
      )
    )
  }))

if (isMain(import.meta.url)) {
  const args = flags({ path: "/tmp/mysock" })
  run(unixDatagramHello({ path: args.path }))
}
