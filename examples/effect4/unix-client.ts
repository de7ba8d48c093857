/**
 * AnyIO's UNIX socket client: send `Client\n` and print the reply.
 *
 *   npx tsx examples/effect4/unix-client.ts [--path /tmp/mysock]
 */
import { Console, Effect } from "effect"
import { Socket } from "../../src/effect4/index.js"
import { flags, isMain, run } from "./lib/cli.js"

/** Connects, sends `Client\n`, returns the reply (up to 1024 bytes) as text. */
export const unixClient = (options: { readonly path: string }) =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* Socket.connectUnix(options.path)
    yield* client.send("Client\n")
    const response = yield* client.receive(1024)
    return Buffer.from(response).toString("utf8")
  }))

if (isMain(import.meta.url)) {
  const args = flags({ path: "/tmp/mysock" })
  run(Effect.flatMap(unixClient({ path: args.path }), (reply) => Console.log(reply.trimEnd())))
}
