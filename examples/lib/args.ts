/**
 * The Effect-free half of every example's command line, shared by both editions' examples
 * (examples/lib/cli.ts for Effect 3, examples/effect4/lib/cli.ts for Effect 4): flag parsing, "am
 * I the entry point", and how addresses print.
 */
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { parseArgs } from "node:util"

/** An address as both editions give it (`ByteStream.SocketAddress`). */
export type SocketAddress =
  | { readonly _tag: "InetAddress"; readonly host: string; readonly port: number }
  | { readonly _tag: "UnixAddress"; readonly path: string | Uint8Array }

/** The usage line of an example: its script and every flag with its default. */
export const usage = (defaults: Record<string, string>): string => {
  const script = process.argv[1] === undefined ? "example" : path.relative(process.cwd(), process.argv[1])
  const each = Object.entries(defaults).map(([name, value]) => `[--${name} ${value === "" ? "VALUE" : value}]`)
  return `usage: npx tsx ${script} ${each.join(" ")}`.trimEnd()
}

/**
 * Parses `--name value` flags; every flag is a string with a default. A bad command line (an
 * unknown flag, a missing value, a stray argument) prints what is wrong and the usage line on
 * stderr, one line, and exits 2.
 */
export const flags = <const Names extends string>(defaults: Record<Names, string>): Record<Names, string> => {
  const options = Object.fromEntries(Object.keys(defaults).map((name) => [name, { type: "string" as const }]))
  try {
    const { values } = parseArgs({ args: process.argv.slice(2), options, strict: true })
    return { ...defaults, ...(values as Partial<Record<Names, string>>) }
  } catch (error) {
    // parseArgs's messages run on with advice about "--": its first sentence says what is wrong.
    const why = (error instanceof Error ? error.message : String(error)).split(/\.\s/)[0]!.replace(/\.$/, "")
    process.stderr.write(`error: ${why}; ${usage(defaults)}\n`)
    return process.exit(2)
  }
}

/** Takes a valueless switch such as `--tls` out of the command line: whether it was given. */
export const switchFlag = (name: string): boolean => {
  const at = process.argv.indexOf(`--${name}`, 2)
  if (at === -1) return false
  process.argv.splice(at, 1)
  return true
}

/** Whether the module at `url` is the script node was started with. */
export const isMain = (url: string): boolean =>
  process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === url

/** `host:port` (IPv6 bracketed) or a UNIX path. */
export const formatAddress = (address: SocketAddress): string =>
  address._tag === "InetAddress"
    ? (address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`)
    : typeof address.path === "string"
    ? address.path
    : `@${Buffer.from(address.path).toString("utf8").replace(/^\0/, "")}`

/** A port flag as a number; the program's own validation reports a bad one. */
export const port = (value: string): number => (value.trim() === "" ? Number.NaN : Number(value))
