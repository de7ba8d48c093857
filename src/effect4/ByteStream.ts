/**
 * The byte stream interface that every stream transport (TCP, UNIX, TLS, in-memory) implements,
 * and the wrappers that compose over any of them: buffered reads (`receiveExactly`,
 * `receiveUntil`), a UTF-8 text view, a stapled stream made of two halves, and an in-memory
 * connected pair for tests.
 *
 * Effect 4 edition: a batch is a `NonEmptyReadonlyArray` (Effect 4's own batch, as `Stream` pulls
 * and `effect/socket`'s reader give them), not the Effect 3 edition's `NonEmptyChunk`; `stream`
 * is built on a `Pull` (`Stream.fromPull`), each pull one `receiveBatch`.
 *
 * @since 0.2.0
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import type * as Effect from "effect/Effect"
import type * as Sink from "effect/Sink"
import type * as Stream from "effect/Stream"
import * as internalBuffered from "./internal/bufferedStream.js"
import * as internal from "./internal/byteStream.js"
import * as internalMemory from "./internal/memoryStream.js"
import * as internalSerialized from "./internal/serializedStream.js"
import * as internalText from "./internal/textStream.js"
import type {
  BrokenResourceError,
  BusyResourceError,
  ClosedResourceError,
  DelimiterNotFound,
  EndOfStream,
  IncompleteRead,
  InvalidArgumentError,
  UnsupportedError
} from "./NetError.js"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId: typeof internal.TypeId = internal.TypeId

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * The default `maxBytes` of `receive`.
 *
 * @since 0.2.0
 * @category constants
 */
export const DEFAULT_MAX_BYTES: number = internal.DEFAULT_MAX_BYTES

/**
 * The address family of a socket.
 *
 * @since 0.2.0
 * @category models
 */
export type Family = "IPv4" | "IPv6" | "unix"

/**
 * An IP address and port.
 *
 * @since 0.2.0
 * @category models
 */
export interface InetAddress {
  readonly _tag: "InetAddress"
  readonly host: string
  readonly port: number
}

/**
 * A UNIX socket path: a string, or bytes for abstract or non-UTF-8 names. `""` is unnamed.
 *
 * @since 0.2.0
 * @category models
 */
export interface UnixAddress {
  readonly _tag: "UnixAddress"
  readonly path: string | Uint8Array
}

/**
 * @since 0.2.0
 * @category models
 */
export type SocketAddress = InetAddress | UnixAddress

/**
 * What a stream knows about its transport. Socket streams fill every field; wrappers pass
 * their transport's attributes through; in-memory streams have none.
 *
 * @since 0.2.0
 * @category models
 */
export interface Attributes {
  readonly family?: Family
  readonly localAddress?: SocketAddress
  readonly remoteAddress?: SocketAddress
  readonly [key: string]: unknown
}

/**
 * The failures of `receive`.
 *
 * @since 0.2.0
 * @category models
 */
export type ReceiveError =
  | EndOfStream
  | ClosedResourceError
  | BrokenResourceError
  | BusyResourceError
  | InvalidArgumentError

/**
 * The failures of `send`.
 *
 * @since 0.2.0
 * @category models
 */
export type SendError = ClosedResourceError | BrokenResourceError | BusyResourceError | InvalidArgumentError

/**
 * The failures of `sendEof`.
 *
 * @since 0.2.0
 * @category models
 */
export type SendEofError = ClosedResourceError | BrokenResourceError | UnsupportedError

/**
 * The receiving half of a byte stream.
 *
 * @since 0.2.0
 * @category models
 */
export interface ByteReceiveStream {
  /**
   * The next chunk: 1..maxBytes bytes, never empty. Fails with `EndOfStream` once the peer has
   * closed its side and every buffered byte was delivered. An interrupted receive consumes
   * nothing.
   */
  readonly receive: (maxBytes?: number) => Effect.Effect<Uint8Array, ReceiveError>
  /** Closes the stream (idempotent). */
  readonly close: Effect.Effect<void>
}

/**
 * The sending half of a byte stream.
 *
 * @since 0.2.0
 * @category models
 */
export interface ByteSendStream {
  /**
   * Sends all of `data`; completes once the transport has taken it. A string is sent as UTF-8;
   * a `Uint8Array` (or `Buffer`) as itself; any other `ArrayBufferView` (`Uint16Array`,
   * `DataView`…) as the bytes it views (the static type stays `Uint8Array | string`). Anything
   * else (`undefined`, `null`, a number, a plain object) fails with `InvalidArgumentError`
   * before any I/O, whatever the stream's state. Every transport converts with {@link toBytes}.
   */
  readonly send: (data: Uint8Array | string) => Effect.Effect<void, SendError>
  /** Closes the stream (idempotent). */
  readonly close: Effect.Effect<void>
}

/**
 * What a transport implements; {@link make} adds the derived members.
 *
 * @since 0.2.0
 * @category models
 */
export interface ByteStreamCore extends ByteReceiveStream, ByteSendStream {
  /** Half-closes the sending side (idempotent); `send` afterwards fails with `ClosedResourceError`. */
  readonly sendEof: Effect.Effect<void, SendEofError>
  readonly attributes: Attributes
  /**
   * The transport's own batch receive (see {@link ByteStream.receiveBatch}); when absent,
   * {@link make} builds one from `receive` (a batch of one chunk).
   */
  readonly receiveBatch?: () => Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, ReceiveError>
  /**
   * The transport's own batch send (see {@link ByteStream.sendAll}); when absent, {@link make}
   * builds one from `send` (one send per chunk, in order).
   */
  readonly sendAll?: (chunks: Iterable<Uint8Array | string>) => Effect.Effect<void, SendError>
}

/**
 * A bidirectional byte stream.
 *
 * @since 0.2.0
 * @category models
 */
export interface ByteStream extends ByteStreamCore {
  readonly [TypeId]: TypeId
  /**
   * Every chunk received and not yet taken, at once: a `NonEmptyReadonlyArray`, oldest first,
   * so one wake-up of the reader serves all that arrived while it was busy. Waits like `receive`
   * when nothing has arrived, and keeps its promises: an interrupted `receiveBatch` consumes
   * nothing, one reader at a time (a concurrent `receive` or `receiveBatch` fails with
   * `BusyResourceError`), `EndOfStream` only once every byte was delivered. A batch is bounded
   * by the transport's own buffer (about 256 KiB on a socket), so memory stays bounded too.
   *
   * @since 0.2.0
   */
  readonly receiveBatch: () => Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, ReceiveError>
  /**
   * Sends every chunk in order, as one batch where the transport can (on a socket: corked, one
   * `writev`); completes once the transport has taken them all, so a slow peer slows the sender
   * as `send` does. Every element is converted as `send` converts its argument, all before any
   * I/O: one that cannot be fails the whole call with `InvalidArgumentError` and sends nothing.
   * Any `Iterable` will do, such as the `NonEmptyReadonlyArray` that `effect/socket`'s
   * `writeAll` is given.
   *
   * @since 0.2.0
   */
  readonly sendAll: (chunks: Iterable<Uint8Array | string>) => Effect.Effect<void, SendError>
  /**
   * Every received chunk, ending cleanly at end of stream. Each pull is one `receiveBatch`:
   * what arrived together is emitted together, as one array of the stream.
   */
  readonly stream: Stream.Stream<Uint8Array, Exclude<ReceiveError, EndOfStream>>
  /** Sends every element it is given; each array the sink receives is one `sendAll`. */
  readonly sink: Sink.Sink<void, Uint8Array | string, never, SendError>
}

/**
 * @since 0.2.0
 * @category guards
 */
export const isByteStream: (u: unknown) => u is ByteStream = internal.isByteStream

/**
 * The `Stream` of every chunk `receive` gives, ending cleanly at `EndOfStream`.
 *
 * @since 0.2.0
 * @category conversions
 */
export const toStream: <E>(
  receive: Effect.Effect<Uint8Array, E | EndOfStream>
) => Stream.Stream<Uint8Array, Exclude<E, EndOfStream>> = internal.toStream

/**
 * Builds a full `ByteStream` (with `stream` and `sink`) from a transport's core operations.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: <A extends ByteStreamCore>(core: A) => A & ByteStream = internal.make

/**
 * Checks a `maxBytes` argument: a positive integer.
 *
 * @since 0.2.0
 * @category utils
 */
export const checkMaxBytes: (maxBytes: number) => InvalidArgumentError | undefined = internal.checkMaxBytes

/**
 * The bytes of `data`, as every `send` takes them: a string is encoded as UTF-8, a
 * `Uint8Array` is itself, any other `ArrayBufferView` (`Uint16Array`, `DataView`…) is the bytes
 * it views; anything else gives the `InvalidArgumentError` (named `argument`) to fail with.
 *
 * @since 0.2.0
 * @category utils
 */
export const toBytes: (data: unknown, argument?: string) => Uint8Array | InvalidArgumentError = internal.toBytes

// ---------------------------------------------------------------------------------------------
// Buffered stream

/**
 * A byte stream with a read buffer, for protocols that read exact sizes or up to a delimiter.
 *
 * @since 0.2.0
 * @category models
 */
export interface BufferedByteStream extends ByteStream {
  /** The bytes received from the transport but not yet returned. */
  readonly buffer: Uint8Array
  /**
   * Appends `data` to the read buffer: it comes after bytes already buffered and before anything
   * still to come from the transport.
   */
  readonly feedData: (data: Uint8Array | string) => Effect.Effect<void, InvalidArgumentError>
  /**
   * Exactly `n` bytes. If the stream ends first, fails with `EndOfStream` when nothing was
   * buffered (a clean end between messages) and with `IncompleteRead` when some bytes were (a
   * truncated message, kept in the buffer).
   */
  readonly receiveExactly: (
    n: number
  ) => Effect.Effect<Uint8Array, IncompleteRead | ReceiveError>
  /**
   * The bytes before `delimiter` (which is consumed, not returned). Fails with
   * `DelimiterNotFound` if it does not start within `maxBytes` bytes. If the stream ends first,
   * fails with `EndOfStream` when nothing was buffered (a clean end at a delimiter boundary) and
   * with `IncompleteRead` when some bytes were (a truncated line); the buffer keeps what was read
   * either way.
   */
  readonly receiveUntil: (
    delimiter: Uint8Array | string,
    maxBytes: number
  ) => Effect.Effect<Uint8Array, IncompleteRead | DelimiterNotFound | ReceiveError>
}

/**
 * Wraps any byte stream with a read buffer. The wrapper owns the stream.
 *
 * @since 0.2.0
 * @category wrappers
 */
export const buffered: (stream: ByteStream) => BufferedByteStream = internalBuffered.make

// ---------------------------------------------------------------------------------------------
// Serialized sends

/**
 * A view of `stream` whose sends from several fibers wait their turn instead of failing.
 *
 * A stream allows one `send` at a time: a second concurrent one fails at once with
 * `BusyResourceError` (AnyIO's rule, so that interleaved writes are a visible bug). When several
 * fibers must write to one connection, wrap it: each `send` (and `sendEof`) waits for the ones
 * before it and runs in the order the calls were made, so every message goes out whole and
 * none is interleaved. Interrupting a send that is still waiting leaves nothing half-sent (it
 * never touched the stream); the next one takes its turn. `receive` and `close` pass through.
 * The view owns the stream.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ByteStream } from "effect-sockets/effect4"
 *
 * const broadcast = (stream: ByteStream.ByteStream, lines: ReadonlyArray<string>) => {
 *   const shared = ByteStream.serialized(stream)
 *   return Effect.forEach(lines, (line) => shared.send(`${line}\n`), { concurrency: "unbounded" })
 * }
 * ```
 *
 * @since 0.2.0
 * @category wrappers
 */
export const serialized: (stream: ByteStream) => ByteStream = internalSerialized.make

// ---------------------------------------------------------------------------------------------
// Text stream

/**
 * A UTF-8 text view of a byte stream. A character split across chunks is held back until it is
 * complete; invalid bytes become U+FFFD unless `fatal` is set.
 *
 * @since 0.2.0
 * @category models
 */
export interface TextStream {
  /** The next non-empty piece of text (from at most `maxBytes` bytes at a time). */
  readonly receive: (maxBytes?: number) => Effect.Effect<string, ReceiveError>
  readonly send: (text: string) => Effect.Effect<void, SendError>
  readonly sendEof: Effect.Effect<void, SendEofError>
  readonly close: Effect.Effect<void>
  readonly stream: Stream.Stream<string, Exclude<ReceiveError, EndOfStream>>
  readonly attributes: Attributes
}

/**
 * Options of {@link text}.
 *
 * @since 0.2.0
 * @category models
 */
export interface TextOptions {
  /** Fail with `BrokenResourceError` (reason `"InvalidData"`) on invalid UTF-8 instead of replacing it. */
  readonly fatal?: boolean
}

/**
 * A UTF-8 text view over any byte stream. The view owns the stream.
 *
 * @since 0.2.0
 * @category wrappers
 */
export const text: (stream: ByteStream, options?: TextOptions) => TextStream = internalText.make

// ---------------------------------------------------------------------------------------------
// Stapled stream and in-memory pair

/**
 * A byte stream made of a sending half and a receiving half. `sendEof` closes the sending half;
 * `close` closes both. Attributes are those of the receiving half.
 *
 * @since 0.2.0
 * @category wrappers
 */
export const staple: (
  sendStream: ByteSendStream,
  receiveStream: ByteReceiveStream & { readonly attributes?: Attributes }
) => ByteStream = internalMemory.staple

/**
 * Options of {@link makePipe} and {@link makePair}.
 *
 * @since 0.2.0
 * @category models
 */
export interface MemoryOptions {
  /** How many sent chunks may wait unreceived before `send` suspends (default 16). */
  readonly bufferSize?: number
}

/**
 * A one-way in-memory pipe: what the sending half sends, the receiving half receives. Closing
 * the sending half ends the stream (`EndOfStream` after the buffered chunks); closing the
 * receiving half makes further sends fail with `BrokenResourceError`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makePipe: (
  options?: MemoryOptions
) => Effect.Effect<readonly [ByteSendStream, ByteReceiveStream], InvalidArgumentError> = internalMemory.makePipe

/**
 * A connected pair of in-memory byte streams, for tests and in-process plumbing.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makePair: (
  options?: MemoryOptions
) => Effect.Effect<readonly [ByteStream, ByteStream], InvalidArgumentError> = internalMemory.makePair
