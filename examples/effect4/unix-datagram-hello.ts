/**
 * AnyIO's UNIX datagram "hello" service: bind the path and reply `Hello, <packet>` to each
 * sender's path (an unbound sender cannot be answered and is skipped). The socket file is
 * removed when the service stops (SIGINT/SIGTERM or a normal end).
 *
 *   npx tsx examples/effect4/unix-datagram-hello.ts [--path /tmp/mysock]
 */
import { Console, Effect, Stream } from "effect"
import * as fs from "node:fs"
import { Datagram } from "../../src/effect4/index.js"
import { flags, formatAddress, isMain, run } from "./lib/cli.js"

/** Binds `path`, announces it, replies to every datagram until interrupted. */
export const unixDatagramHello = (
  options: { readonly path: string; readonly announce?: (line: string) => Effect.Effect<void> }
) =>
  Effect.scoped(Effect.gen(function*() {
    const socket = yield* Datagram.createUnixDatagramSocket({ localPath: options.path })
    // Ours once bound: remove the file when the scope closes (an abstract name has none).
    if (!options.path.startsWith("\0")) {
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(options.path, { force: true })))
    }
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
