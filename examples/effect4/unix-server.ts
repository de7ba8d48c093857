/**
 * AnyIO's UNIX socket server: per client, receive a name and reply `Hello, <name>\n`.
 *
 *   npx tsx examples/effect4/unix-server.ts [--path /tmp/mysock]
 */
import { Console, Effect } from "effect"
import { Listener } from "../../src/effect4/index.js"
import { flags, formatAddress, isMain, run } from "./lib/cli.js"
import { handle } from "./tcp-server.js"

/** Binds the path (replacing a stale socket file), announces it, serves until interrupted. */
export const unixServer = (
  options: { readonly path: string; readonly announce?: (line: string) => Effect.Effect<void> }
) =>
  Effect.scoped(Effect.gen(function*() {
    const listener = yield* Listener.createUnixListener(options.path, { unlinkOnClose: true })
    yield* (options.announce ?? Console.log)(`listening on ${listener.addresses.map(formatAddress).join(", ")}`)
    return yield* listener.serve(handle)
  }))

if (isMain(import.meta.url)) {
  const args = flags({ path: "/tmp/mysock" })
  run(unixServer({ path: args.path }))
}
