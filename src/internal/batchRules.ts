/**
 * @internal
 * The payload and batching rules of both Effect editions' byte streams, as plain data
 * (Effect-free): how a payload becomes bytes, how a batch of payloads is converted (every one
 * before any I/O), how large a batch may grow, and which small neighbours a batch send joins into
 * one write. Each edition turns an `Invalid` into its own `InvalidArgumentError`.
 */
import type { Invalid } from "./argumentRules.js"

/**
 * @internal
 * The most bytes one batch receive reads where the transport reads on its own (the addon), and
 * the largest piece a batch send joins small chunks into: the size of a socket's queue limit
 * (`driver/netStream.ts`), so a batch never holds more than the transport would buffer anyway.
 */
export const BATCH_LIMIT = 256 * 1024

const describe = (data: unknown): string =>
  data === null
    ? "null"
    : Array.isArray(data)
    ? "an array"
    : typeof data === "object"
    ? "an object"
    : `a ${typeof data}`

/**
 * @internal
 * The bytes of a payload, or undefined when it has none: a string is its UTF-8, a `Uint8Array`
 * (or `Buffer`) itself, any other `ArrayBufferView` (`Uint16Array`, `DataView`…) the bytes it
 * views. The callers' static type is `Uint8Array | string`, but untyped callers exist.
 */
export const bytesOf = (data: unknown): Uint8Array | undefined => {
  if (typeof data === "string") return Buffer.from(data, "utf8")
  if (data instanceof Uint8Array) return data
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return undefined
}

/** @internal Why `data` (named `argument`) is no payload: `bytesOf` gave undefined. */
export const notBytes = (data: unknown, argument: string): Invalid => ({
  argument,
  why: `must be a Uint8Array, another ArrayBufferView or a string (got ${describe(data)})`
})

/** @internal A batch of payloads as bytes: the non-empty ones, in order, and their total. */
export interface ByteBatch {
  readonly chunks: Array<Uint8Array>
  readonly bytes: number
}

/**
 * @internal
 * The bytes of every payload of a batch, or what is wrong with the first one that has none
 * (named `chunks[i]`), or with `chunks` itself when it is not iterable: all are converted before
 * any is sent. Empty payloads are left out (they would be writes with nothing to write).
 */
export const byteBatch = (chunks: unknown): ByteBatch | Invalid => {
  if (chunks === null || typeof (chunks as { [Symbol.iterator]?: unknown })?.[Symbol.iterator] !== "function") {
    return { argument: "chunks", why: `must be iterable (got ${describe(chunks)})` }
  }
  const out: Array<Uint8Array> = []
  let bytes = 0
  let index = 0
  for (const data of chunks as Iterable<unknown>) {
    const converted = bytesOf(data)
    if (converted === undefined) return notBytes(data, `chunks[${index}]`)
    index++
    if (converted.length === 0) continue
    out.push(converted)
    bytes += converted.length
  }
  return { chunks: out, bytes }
}

/** @internal Whether `byteBatch` refused its argument. */
export const isInvalid = (result: ByteBatch | Invalid): result is Invalid => "why" in result

/**
 * @internal
 * `chunks` with runs of small neighbours joined into pieces of at most `limit` bytes (a chunk
 * larger than `limit` stays whole, alone): a transport that writes piece by piece (one syscall
 * each) then pays few syscalls for a batch of small chunks.
 */
export const coalesce = (chunks: ReadonlyArray<Uint8Array>, limit: number): Array<Uint8Array> => {
  const pieces: Array<Uint8Array> = []
  let run: Array<Uint8Array> = []
  let runBytes = 0
  const flush = () => {
    if (run.length === 1) pieces.push(run[0]!)
    else if (run.length > 1) pieces.push(Buffer.concat(run, runBytes))
    run = []
    runBytes = 0
  }
  for (const chunk of chunks) {
    if (runBytes + chunk.length > limit) flush()
    run.push(chunk)
    runBytes += chunk.length
  }
  flush()
  return pieces
}

/** @internal Concatenates two byte arrays (either may be empty). */
export const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  if (a.length === 0) return b
  if (b.length === 0) return a
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}
