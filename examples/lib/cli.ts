/**
 * What every example shares: flag parsing, "am I the entry point", running with a clean
 * SIGINT/SIGTERM stop, and readable failures (one line on stderr, exit code 1).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect } from "effect"
import { pathToFileURL } from "node:url"
import { parseArgs } from "node:util"
import type { ByteStream } from "../../src/index.js"

/** Parses `--name value` flags; every flag is a string with a default. */
export const flags = <const Names extends string>(defaults: Record<Names, string>): Record<Names, string> => {
  const options = Object.fromEntries(Object.keys(defaults).map((name) => [name, { type: "string" as const }]))
  const { values } = parseArgs({ args: process.argv.slice(2), options, strict: true })
  return { ...defaults, ...(values as Partial<Record<Names, string>>) }
}

/** Whether the module at `url` is the script node was started with. */
export const isMain = (url: string): boolean =>
  process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === url

/** Runs an example: SIGINT/SIGTERM interrupt it (exit 0); a failure prints its message (exit 1). */
export const run = <A, E>(program: Effect.Effect<A, E>): void =>
  NodeRuntime.runMain(
    program.pipe(
      Effect.tapErrorCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.void
          : Console.error(
            `error: ${
              Cause.squash(cause) instanceof Error ? (Cause.squash(cause) as Error).message : Cause.pretty(cause)
            }`
          )
      )
    ),
    { disableErrorReporting: true }
  )

/** `host:port` (IPv6 bracketed) or a UNIX path. */
export const formatAddress = (address: ByteStream.SocketAddress): string =>
  address._tag === "InetAddress"
    ? (address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`)
    : typeof address.path === "string"
    ? address.path
    : `@${Buffer.from(address.path).toString("utf8").replace(/^\0/, "")}`

/** A port flag as a number; the program's own validation reports a bad one. */
export const port = (value: string): number => (value.trim() === "" ? Number.NaN : Number(value))
