/**
 * @internal
 * The bridge to Effect 4's `effect/socket`: our connections as its pull-based `Socket`, our
 * listeners as its `SocketServer`, with the semantics of `@effect/platform-node` 4's
 * `NodeSocket.fromDuplex` and `NodeSocketServer`:
 *
 * - acquiring `reader` opens a connection of its own in the caller's scope (a connectable dials
 *   anew; an accepted stream can be read once, a second acquisition fails with
 *   `SocketCloseError`); closing that scope closes the connection and fails a suspended `pull`;
 * - `pull` takes what the connection holds (up to `PULL_BYTES` in one chunk, at least one byte);
 *   every end is a `SocketError`: the peer's end of stream is `SocketCloseError` 1000, our own
 *   close 1006, any other failure `SocketReadError` whose `cause` is our typed error;
 * - `upgrade` runs a TLS handshake over the connection (`wrapTls`, STARTTLS), client side for
 *   dialled sockets and server side for accepted ones; pulls and writes then go through TLS;
 * - the writer is detached: a write while no connection is open waits for the next one;
 *   concurrent writes are queued, each sent whole; `writeAll` coalesces its chunks into one send;
 *   a `CloseEvent` closes the connection; releasing the writer half-closes it (`sendEof`).
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Latch from "effect/Latch"
import * as Layer from "effect/Layer"
import * as NetAddress from "effect/net/NetAddress"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import type { ByteStream, SocketAddress } from "../ByteStream.js"
import type { Listener } from "../Listener/index.js"
import type { Connectable } from "../Socket/Connectable.js"
import type { TlsOptions, wrapTls } from "../Socket/Tls.js"
import { tag as ListenerTag } from "./listener.js"
import { make as serialized } from "./serializedStream.js"

/** @internal The most bytes one `pull` takes from the connection. */
export const PULL_BYTES = 256 * 1024

/** @internal */
export interface SocketOptions {
  readonly openTimeout?: Duration.Input | undefined
}

/**
 * @internal
 * How `upgrade` wraps a connection: the public `Socket.wrapTls`, handed in by Platform.ts (internal
 * code takes no values from public modules), and which side of the handshake this socket runs.
 */
export interface Upgrade {
  readonly wrapTls: typeof wrapTls
  readonly serverSide: boolean
}

const closeError = (code: number) => new Socket.SocketError({ reason: new Socket.SocketCloseError({ code }) })
const readError = (cause: unknown) => new Socket.SocketError({ reason: new Socket.SocketReadError({ cause }) })
const writeError = (cause: unknown) => new Socket.SocketError({ reason: new Socket.SocketWriteError({ cause }) })
const upgradeError = (cause: unknown) => new Socket.SocketError({ reason: new Socket.SocketUpgradeError({ cause }) })
const openError = (cause: unknown) =>
  new Socket.SocketError({ reason: new Socket.SocketOpenError({ kind: "Unknown", cause }) })

/**
 * An open connection: the stream as dialled or accepted (`raw`, replaced by its TLS stream after
 * `upgrade`), the same serialised (concurrent writes queue), and how this side ended it, which is
 * what `pull` then reports.
 */
interface Connection {
  raw: ByteStream
  stream: ByteStream
  ended: Socket.SocketError | undefined
}

const encoder = new TextEncoder()

/** The chunks as one payload: `writeAll`'s frames leave in one send. */
const coalesce = (chunks: NonEmptyReadonlyArray<Uint8Array | string>): Uint8Array | string => {
  if (chunks.length === 1) return chunks[0]
  const parts = chunks.map((chunk) => (typeof chunk === "string" ? encoder.encode(chunk) : chunk))
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** Our TLS options for an upgrade, or why they cannot be (server side needs a key and a certificate). */
const tlsOptionsOf = (options: Socket.TlsUpgradeOptions, serverSide: boolean): TlsOptions | string => {
  const hasKey = options.key !== undefined
  const hasCert = options.cert !== undefined
  if (serverSide && (!hasKey || !hasCert)) return "server TLS upgrade requires both key and cert"
  if (hasKey !== hasCert) return "TLS upgrade credentials must include both key and cert"
  const buffers = (input: string | Uint8Array | ReadonlyArray<string | Uint8Array>) =>
    (Array.isArray(input) ? input : [input]).map((value: string | Uint8Array) => Buffer.from(value))
  const keys = options.key === undefined ? undefined : Array.isArray(options.key) ? options.key : [options.key]
  return {
    serverSide,
    ...(options.servername !== undefined && !serverSide ? { hostname: options.servername } : {}),
    ...(keys !== undefined
      ? { key: keys.map((key: Redacted.Redacted<string | Uint8Array>) => Buffer.from(Redacted.value(key))) }
      : {}),
    ...(options.cert !== undefined ? { cert: buffers(options.cert) } : {}),
    ...(options.ca !== undefined ? { ca: buffers(options.ca) } : {}),
    ...(options.passphrase !== undefined ? { passphrase: Redacted.value(options.passphrase) } : {}),
    ...(options.alpnProtocols !== undefined ? { alpnProtocols: options.alpnProtocols } : {}),
    ...(options.requestCert !== undefined ? { requestCert: options.requestCert } : {}),
    ...(options.rejectUnauthorized !== undefined ? { rejectUnauthorized: options.rejectUnauthorized } : {})
  }
}

const fromOpen = (
  open: Effect.Effect<ByteStream, Socket.SocketError, Scope.Scope>,
  options: SocketOptions,
  tls: Upgrade
): Effect.Effect<Socket.Socket> =>
  Effect.sync(() => {
    let current: Connection | undefined
    const latch = Latch.makeUnsafe(false)

    const reader: Socket.Socket["reader"] = Effect.gen(function*() {
      const scope = yield* Effect.scope
      const opened = Scope.provide(open, scope)
      const stream = yield* (options.openTimeout === undefined ? opened : Effect.timeoutOrElse(opened, {
        duration: options.openTimeout,
        orElse: () =>
          Effect.fail(
            new Socket.SocketError({
              reason: new Socket.SocketOpenError({ kind: "Timeout", cause: new Error("Connection timed out") })
            })
          )
      }))
      const connection: Connection = { raw: stream, stream: serialized(stream), ended: undefined }
      // Runs before the stream's own finalizer (added by `open`): a suspended pull then fails with 1006.
      yield* Scope.addFinalizer(
        scope,
        Effect.sync(() => {
          connection.ended ??= closeError(1006)
          latch.closeUnsafe()
          if (current === connection) current = undefined
        })
      )
      current = connection
      latch.openUnsafe()

      const pull: Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError> = Effect.suspend(() =>
        connection.ended !== undefined
          ? Effect.fail(connection.ended)
          : Effect.mapError(
            Effect.map(connection.stream.receive(PULL_BYTES), (chunk): NonEmptyReadonlyArray<Uint8Array> => [chunk]),
            (error) =>
              connection.ended ??
                (error._tag === "EndOfStream"
                  ? closeError(1000)
                  : error._tag === "ClosedResourceError"
                  ? closeError(1006)
                  : readError(error))
          )
      )

      let upgraded = false
      const upgrade: Socket.Reader["upgrade"] = (upgradeOptions = {}) =>
        Effect.suspend(() => {
          if (upgraded || connection.ended !== undefined) {
            return Effect.fail(upgradeError(new Error("socket is already upgraded or closed")))
          }
          const tlsOptions = tlsOptionsOf(upgradeOptions, tls.serverSide)
          if (typeof tlsOptions === "string") return Effect.fail(upgradeError(new Error(tlsOptions)))
          upgraded = true
          return Scope.provide(tls.wrapTls(connection.raw, tlsOptions), scope).pipe(
            Effect.mapError(upgradeError),
            Effect.map((tlsStream) => {
              connection.raw = tlsStream
              connection.stream = serialized(tlsStream)
            })
          )
        })

      return { pull, upgrade }
    })

    const send = (connection: Connection, payload: Uint8Array | string) =>
      Effect.mapError(connection.stream.send(payload), writeError)

    const write = (chunk: Uint8Array | string | Socket.CloseEvent): Effect.Effect<void, Socket.SocketError> =>
      Effect.suspend(() => {
        const connection = current
        if (connection === undefined) return latch.whenOpen(write(chunk))
        if (!Socket.isCloseEvent(chunk)) return send(connection, chunk)
        // As NodeSocket's destroy reports it: a read error above 1000, a clean close otherwise.
        connection.ended ??= chunk.code > 1000
          ? readError(new Error(`closed with code ${chunk.code}`))
          : closeError(1000)
        return connection.stream.close
      })

    const writeAll = (chunks: NonEmptyReadonlyArray<Uint8Array | string>): Effect.Effect<void, Socket.SocketError> =>
      Effect.suspend(() => {
        const connection = current
        return connection === undefined ? latch.whenOpen(writeAll(chunks)) : send(connection, coalesce(chunks))
      })

    const writer: Socket.Socket["writer"] = Effect.acquireRelease(
      Effect.succeed({ write, writeAll }),
      () => Effect.suspend(() => (current === undefined ? Effect.void : Effect.ignore(current.stream.sendEof)))
    )

    return Socket.make({ reader, writer })
  })

/** @internal */
export const toSocket = <A extends ByteStream, E>(
  connectable: Connectable<A, E>,
  options: SocketOptions,
  tls: typeof wrapTls
): Effect.Effect<Socket.Socket> =>
  fromOpen(Effect.mapError(connectable.connect, openError), options, { wrapTls: tls, serverSide: false })

/** @internal */
export const layerSocket = <A extends ByteStream, E>(
  connectable: Connectable<A, E>,
  options: SocketOptions,
  tls: typeof wrapTls
): Layer.Layer<Socket.Socket> => Layer.effect(Socket.Socket, toSocket(connectable, options, tls))

/** @internal */
export const fromStream = (stream: ByteStream, tls: Upgrade): Effect.Effect<Socket.Socket> => {
  let used = false
  return fromOpen(
    Effect.suspend(() => {
      if (used) return Effect.fail(closeError(1000))
      used = true
      return Effect.acquireRelease(Effect.succeed(stream), (s) => s.close)
    }),
    {},
    tls
  )
}

/** @internal */
export const toAddress = (address: SocketAddress | undefined): NetAddress.SocketAddress => {
  if (address === undefined) return NetAddress.unixPathAddress("")
  if (address._tag === "UnixAddress") {
    return NetAddress.unixPathAddress(
      typeof address.path === "string" ? address.path : Buffer.from(address.path).toString("utf8")
    )
  }
  // A scoped IPv6 address ("fe80::1%eth0") keeps its scope out of the literal.
  const literal = address.host.split("%")[0]!
  return Result.getOrThrow(NetAddress.inetAddressFromIpString(literal, address.port))
}

/** @internal */
export const toSocketServer = <A extends ByteStream>(
  listener: Listener<A, SocketAddress>,
  tls: typeof wrapTls
): SocketServer.SocketServer["Service"] =>
  SocketServer.SocketServer.of({
    address: toAddress(listener.addresses[0]),
    run: <R, E, _>(handler: (socket: Socket.Socket) => Effect.Effect<_, E, R>) =>
      listener.serve((stream) =>
        fromStream(stream, { wrapTls: tls, serverSide: true }).pipe(
          Effect.flatMap(handler),
          Effect.ignoreCause({ log: "Unhandled", message: "Unhandled error in SocketServer" })
        )
      ).pipe(
        Effect.mapError((cause) =>
          new SocketServer.SocketServerError({ reason: new SocketServer.SocketServerUnknownError({ cause }) })
        )
      ) as Effect.Effect<never, SocketServer.SocketServerError, R>
  })

/** @internal */
export const layerSocketServer = (tls: typeof wrapTls): Layer.Layer<SocketServer.SocketServer, never, Listener> =>
  Layer.effect(
    SocketServer.SocketServer,
    Effect.gen(function*() {
      return toSocketServer(yield* ListenerTag, tls)
    })
  )
