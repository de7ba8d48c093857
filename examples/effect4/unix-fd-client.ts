/**
 * AnyIO's fd-passing client: receive one file descriptor and print the file's contents.
 *
 *   npx tsx examples/effect4/unix-fd-client.ts [--path /tmp/mysock]
 */
import { Console, Effect } from "effect"
import * as fs from "node:fs"
import { Socket } from "../../src/effect4/index.js"
import { flags, isMain, run } from "./lib/cli.js"

/** Connects, receives one fd, returns what the file it refers to contains. */
export const unixFdClient = (options: { readonly path: string }) =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* Socket.connectUnix(options.path)
    const [, fds] = yield* client.receiveFds(1024, 1)
    // The received fd is ours: read the file through it, then close it.
    return yield* Effect.acquireUseRelease(
      Effect.succeed(fds[0]!),
      (fd) => Effect.sync(() => fs.readFileSync(fd, "utf8")),
      (fd) => Effect.sync(() => fs.closeSync(fd))
    )
  }))

if (isMain(import.meta.url)) {
  const args = flags({ path: "/tmp/mysock" })
  run(Effect.flatMap(unixFdClient({ path: args.path }), (contents) => Console.log(contents)))
}
