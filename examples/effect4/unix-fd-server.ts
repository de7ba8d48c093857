/**
 * AnyIO's fd-passing server: per client, open the file and send its descriptor (with a message
 * the client ignores).
 *
 *   npx tsx examples/effect4/unix-fd-server.ts [--path /tmp/mysock] [--file /tmp/examplefile]
 */
import { Console, Effect } from "effect"
import * as fs from "node:fs"
import { Listener } from "../../src/effect4/index.js"
import { flags, formatAddress, isMain, run } from "./lib/cli.js"

/** Serves `file`'s descriptor to every client on `path`. */
export const unixFdServer = (options: {
  readonly path: string
  readonly file: string
  readonly announce?: (line: string) => Effect.Effect<void>
}) =>
  Effect.scoped(Effect.gen(function*() {
    const listener = yield* Listener.createUnixListener(options.path, { unlinkOnClose: true })
    yield* (options.announce ?? Console.log)(`listening on ${listener.addresses.map(formatAddress).join(", ")}`)
    return yield* listener.serve((client) =>
      Effect.gen(function*() {
        // The file is closed here when the handler ends; the client holds its own duplicate.
        const file = yield* Effect.acquireRelease(
          Effect.promise(() => fs.promises.open(options.file, "r")),
          (handle) => Effect.promise(() => handle.close())
        )
        yield* client.sendFds("this message is ignored", [file])
      })
    )
  }))

if (isMain(import.meta.url)) {
  const args = flags({ path: "/tmp/mysock", file: "/tmp/examplefile" })
  if (!fs.existsSync(args.file)) fs.writeFileSync(args.file, "Test file")
  run(unixFdServer({ path: args.path, file: args.file }))
}
