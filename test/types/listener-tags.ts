/**
 * Type-level tests of the listener API (issue #13 item 5a–c), checked by `tsc --noEmit -p .`
 * (never run): stream-typed tags, typed addresses, and `serve`'s error typed by
 * `onHandlerError`. A line marked `@ts-expect-error` must not compile.
 */
import { Data, Effect, Layer } from "effect"
import type * as Context from "effect/Context"
import { Listener, type NetError, Socket } from "../../src/index.js"
import type { ServeOptions } from "../../src/Listener/index.js"

type Equals<X, Y> = (<T>() => T extends X ? 1 : 2) extends (<T>() => T extends Y ? 1 : 2) ? true : false
const assertType = <T extends true>(): T => true as T

class Boom extends Data.TaggedError("Boom")<{}> {}
type ServeFailure = NetError.ClosedResourceError | NetError.BusyResourceError | NetError.InvalidArgumentError
type UnixLayerError = NetError.ListenError | NetError.InvalidArgumentError | NetError.UnsupportedError

// (a) The example: a UnixStream handler (it calls sendFds) served from layerUnix.
const sendAnFd = (c: Socket.UnixStream) => c.sendFds("fd", [0])
export const unixExample = Listener.serveWith(Listener.UnixListener, sendAnFd).pipe(
  Effect.provide(Listener.layerUnix("/tmp/example.sock"))
)
assertType<Equals<Effect.Effect.Context<typeof unixExample>, never>>()
assertType<Equals<Effect.Effect.Error<typeof unixExample>, ServeFailure | UnixLayerError>>()

// The handler's parameter is inferred from the tag.
export const inferred = Listener.serveWith(Listener.UnixListener, (c) => c.sendFds("fd", [0]))
assertType<Equals<Effect.Effect.Context<typeof inferred>, Listener.UnixListener>>()

// The generic tag serves ByteStreams only: a UnixStream handler does not fit it.
// @ts-expect-error Listener.serve's handler receives a ByteStream, not a UnixStream
export const generic = Listener.serve((c: Socket.UnixStream) => c.sendFds("fd", [0]))

// A TCP and a UNIX layer coexist: each tag keeps its own stream type.
export const both = Effect.all([
  Listener.serveWith(Listener.TcpListener, (c: Socket.TcpStream) => c.send(c.attributes.family)),
  Listener.serveWith(Listener.UnixListener, (c: Socket.UnixStream) => c.sendFds("fd", [0]))
], { concurrency: "unbounded" }).pipe(
  Effect.provide(Layer.merge(Listener.layerTcp({ localPort: 0 }), Listener.layerUnix("/tmp/both.sock")))
)
assertType<Equals<Effect.Effect.Context<typeof both>, never>>()

// layerTcp provides TcpListener (and the generic Listener); with `tls`, TlsListener instead.
assertType<
  Equals<Layer.Layer.Success<ReturnType<typeof Listener.layerTcp>>, Listener.TcpListener | Listener.Listener>
>()
const tlsLayer = Listener.layerTcp({ tls: { cert: "", key: "" } })
assertType<Equals<Layer.Layer.Success<typeof tlsLayer>, Listener.TlsListener | Listener.Listener>>()
export const tls = Listener.serveWith(
  Listener.TlsListener,
  (c: Socket.TlsStream) => c.send(`${c.attributes.tlsVersion}`)
)
  .pipe(Effect.provide(tlsLayer))
assertType<Equals<Effect.Effect.Context<typeof tls>, never>>()
// A TLS layer does not provide TcpListener.
const notTcp = Listener.serveWith(Listener.TcpListener, (c) => c.send("x")).pipe(Effect.provide(tlsLayer))
assertType<Equals<Effect.Effect.Context<typeof notTcp>, Listener.TcpListener>>()

// Any tag of a listener works with serveWith (e.g. a second TCP listener under its own tag).
declare const AdminListener: Context.Tag<"Admin", Listener.TcpListenerService>
export const admin = Listener.serveWith(AdminListener, (c: Socket.TcpStream) => c.send("admin"))
assertType<Equals<Effect.Effect.Context<typeof admin>, "Admin">>()

// (b) Addresses are typed by the listener.
export const port = Effect.map(Listener.TcpListener, (l) => l.addresses[0]!.port)
assertType<Equals<Effect.Effect.Success<typeof port>, number>>()
export const tlsPort = Effect.map(Listener.TlsListener, (l) => l.addresses[0]!.port)
assertType<Equals<Effect.Effect.Success<typeof tlsPort>, number>>()
export const unixPath = Effect.map(Listener.UnixListener, (l) => l.addresses[0]!.path)
assertType<Equals<Effect.Effect.Success<typeof unixPath>, string | Uint8Array>>()
export const created = Effect.map(Listener.createTcpListener(), (l) => l.addresses[0]!.port)
assertType<Equals<Effect.Effect.Success<typeof created>, number>>()
export const createdTls = Effect.map(
  Listener.createTcpListener({ tls: { cert: "", key: "" } }),
  (l) => l.addresses[0]!.port
)
assertType<Equals<Effect.Effect.Success<typeof createdTls>, number>>()
// @ts-expect-error a UNIX listener's address has no port
export const noPort = Effect.map(Listener.UnixListener, (l) => l.addresses[0]!.port)

// (c) serve's error is typed by onHandlerError.
const failing = (_: unknown) => Effect.fail(new Boom())
const logDefault = Listener.serve(failing)
assertType<Equals<Effect.Effect.Error<typeof logDefault>, ServeFailure>>()
const logExplicit = Listener.serve(failing, { onHandlerError: "log", maxConnections: 10 })
assertType<Equals<Effect.Effect.Error<typeof logExplicit>, ServeFailure>>()
const otherOptions = Listener.serve(failing, { maxConnections: 10 })
assertType<Equals<Effect.Effect.Error<typeof otherOptions>, ServeFailure>>()
const failMode = Listener.serve(failing, { onHandlerError: "fail" })
assertType<Equals<Effect.Effect.Error<typeof failMode>, ServeFailure | Boom>>()
declare const unknownMode: ServeOptions
const wide = Listener.serve(failing, unknownMode)
assertType<Equals<Effect.Effect.Error<typeof wide>, ServeFailure | Boom>>()
// The same on a listener value and with serveWith.
export const onValue = Effect.flatMap(Listener.TcpListener, (l) => {
  const logged = l.serve(failing)
  const failed = l.serve(failing, { onHandlerError: "fail" })
  assertType<Equals<Effect.Effect.Error<typeof logged>, ServeFailure>>()
  assertType<Equals<Effect.Effect.Error<typeof failed>, ServeFailure | Boom>>()
  return Effect.all([logged, failed])
})
const withTag = Listener.serveWith(Listener.UnixListener, failing)
assertType<Equals<Effect.Effect.Error<typeof withTag>, ServeFailure>>()
const withTagFail = Listener.serveWith(Listener.UnixListener, failing, { onHandlerError: "fail" })
assertType<Equals<Effect.Effect.Error<typeof withTagFail>, ServeFailure | Boom>>()
// A misspelt option is still an error.
// @ts-expect-error no such option
export const typo = Listener.serve(failing, { onHandlerErrors: "fail" })
