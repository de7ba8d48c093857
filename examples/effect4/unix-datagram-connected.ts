/**
 * AnyIO's connected UNIX datagram client: send `Hi there!\n` to the path. The socket autobinds
 * an abstract name so the peer can reply; a reply arriving within a second is printed.
 *
 *   npx tsx examples/effect4/unix-datagram-connected.ts [--path /tmp/mysock]
 */
import { Console, Effect, Option } from "effect"
import { Datagram } from "../../src/effect4/index.js"
import { flags, isMain, run } from "./lib/cli.js"

/** Sends `Hi there!\n` to `path`; returns the reply, if any arrives within a second. */
export const unixDatagramConnected = (options: { readonly path: string }) =>
  Effect.scoped(Effect.gen(function*() {
    const socket = yield* Datagram.createConnectedUnixDatagramSocket(options.path, { autobind: true })
    yield* socket.send("Hi there!\n")
    const reply = yield* Effect.timeoutOption(socket.receive, "1 second")
    return Option.map(reply, (bytes) => Buffer.from(bytes).toString("utf8"))
  }))

if (isMain(import.meta.url)) {
  const args = flags({ path: "/tmp/mysock" })
  run(
    Effect.flatMap(unixDatagramConnected({ path: args.path }), (reply) =>
      Console.log(Option.match(reply, {
        onNone: () => "sent; no reply",
        onSome: (text) => text.trimEnd()
      })))
  )
}
