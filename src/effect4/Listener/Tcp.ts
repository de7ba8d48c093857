/**
 * TCP listeners: dual stack by default, one shared port on every address.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as net from "node:net"
import * as rules from "../../internal/argumentRules.js"
import { ipFamily } from "../../internal/driver/dns.js"
import { serverAddress } from "../../internal/driver/tcp.js"
import { formatHostPort } from "../../internal/systemError.js"
import type { InetAddress } from "../ByteStream.js"
import { listenFailed } from "../internal/errors.js"
import * as internal from "../internal/listener.js"
import * as tcp from "../internal/tcp.js"
import * as tlsListener from "../internal/tlsListener.js"
import {
  check,
  checkHost,
  checkOptions,
  checkPort,
  checkReusePort,
  checkTcpSocketOptions
} from "../internal/validate.js"
import { InvalidArgumentError, ListenError, type ResolveError, type UnsupportedError } from "../NetError.js"
import type { TcpSocketOptions } from "../Socket/Tcp.js"
import type { TlsOptions } from "../Socket/Tls.js"
import type { Listener as ListenerService, TcpListenerService, TlsListenerService } from "./index.js"

/**
 * The TCP listener service, `Listener<TcpStream, InetAddress>`, as provided by `layerTcp`
 * (without `tls`). Serve from it with `serveWith(TcpListener, handler)`.
 *
 * @since 0.2.0
 * @category tags
 */
export class TcpListener extends Context.Service<TcpListener, TcpListenerService>()("effect-sockets/TcpListener") {}

/**
 * The TLS listener service, `Listener<TlsStream, InetAddress>`, as provided by `layerTcp` with
 * `tls`. Serve from it with `serveWith(TlsListener, handler)`.
 *
 * @since 0.2.0
 * @category tags
 */
export class TlsListener extends Context.Service<TlsListener, TlsListenerService>()("effect-sockets/TlsListener") {}

/**
 * Options of {@link createTcpListener}.
 *
 * @since 0.2.0
 * @category models
 */
export interface TcpListenerOptions extends TcpSocketOptions {
  /** An IP address or a name (every address it resolves to is bound). Default: all addresses, dual stack. */
  readonly localHost?: string
  /** The port; `0` (default) picks a free port, the same one on every address. */
  readonly localPort?: number
  /** Restricts the addresses to one family. */
  readonly family?: "IPv4" | "IPv6" | "any"
  /** The listen backlog (default 511); also bounds connections accepted but not yet taken. */
  readonly backlog?: number
  /** SO_REUSEPORT, so several listeners can share the port (needs Node 22.12+). */
  readonly reusePort?: boolean
  /**
   * IPV6_V6ONLY on the wildcard IPv6 socket (`localHost` unset or `"::"`): `true` serves IPv6
   * only, `false` (the default, unless `family: "IPv6"`) IPv4 too, through mapped addresses.
   * Other IPv6 addresses are always bound IPv6-only; `true` with `family: "IPv4"` is an
   * `InvalidArgumentError`. (`keepAlive`, `noDelay` and the buffer sizes apply to each
   * accepted connection.)
   */
  readonly ipv6Only?: boolean
  /** Serve TLS: certificate, key and the rest (see `withTls`). */
  readonly tls?: TlsOptions
}

/** How many times a port-0 bind over several addresses is retried when a later address collides. */
const CONSISTENT_PORT_TRIES = 10

interface Plan {
  readonly host: string
  readonly ipv6Only: boolean
}

const plan = (options: TcpListenerOptions): Effect.Effect<Array<Plan>, ResolveError> => {
  const family = options.family ?? "any"
  const host = options.localHost
  if (host === undefined) {
    if (family === "IPv4") return Effect.succeed([{ host: "0.0.0.0", ipv6Only: false }])
    return Effect.succeed([{ host: "::", ipv6Only: options.ipv6Only ?? family === "IPv6" }])
  }
  if (ipFamily(host) !== 0) {
    return Effect.succeed([{ host, ipv6Only: host !== "::" || (options.ipv6Only ?? family === "IPv6") }])
  }
  return tcp.lookup(host, family === "IPv4" ? 4 : family === "IPv6" ? 6 : 0).pipe(
    Effect.map((addresses) =>
      [...new Set(addresses.map((a) => a.address))].map((address) => ({ host: address, ipv6Only: true }))
    )
  )
}

/** Binds every planned address on one port, or nothing: a failure closes what was bound. */
const bindAll = (
  plans: ReadonlyArray<Plan>,
  port: number,
  backlog: number,
  reusePort: boolean
): Effect.Effect<Array<net.Server>, ListenError> =>
  Effect.gen(function*() {
    const servers: Array<net.Server> = []
    let shared = port
    for (const p of plans) {
      const bound = yield* Effect.result(
        tcp.bind({ host: p.host, port: shared, ipv6Only: p.ipv6Only, backlog, reusePort })
      )
      if (bound._tag === "Failure") {
        yield* Effect.forEach(servers, internal.closeServer, { discard: true })
        const cause = bound.failure
        return yield* Effect.fail(
          listenFailed(formatHostPort(p.host, shared), cause)
        )
      }
      servers.push(bound.success)
      shared = serverAddress(bound.success).port
    }
    return servers
  })

/** Port 0 on several addresses: the port the first bind picked may be taken on another address. */
const bindConsistently = (
  plans: ReadonlyArray<Plan>,
  port: number,
  backlog: number,
  reusePort: boolean
): Effect.Effect<Array<net.Server>, ListenError> => {
  const once = bindAll(plans, port, backlog, reusePort)
  if (port !== 0 || plans.length === 1) return once
  const attempt = (tries: number): Effect.Effect<Array<net.Server>, ListenError> =>
    Effect.catchIf(
      once,
      (error) => error.reason === "AddressInUse",
      () =>
        tries + 1 < CONSISTENT_PORT_TRIES
          ? attempt(tries + 1)
          : Effect.fail(
            new ListenError({
              reason: "InconsistentPort",
              address: `Could not create ${plans.length} listeners with a consistent port`
            })
          )
    )
  return attempt(0)
}

/**
 * Binds a TCP listener, ready when this effect completes. Without `localHost` it listens on
 * every address, dual stack (`::` accepting IPv4 too) where the system has IPv6. A name binds
 * every address it resolves to. Port 0 picks one free port shared by every address.
 * `addresses` tells what was bound. The listener is closed when the scope closes.
 *
 * @since 0.2.0
 * @category constructors
 */
export const createTcpListener: {
  (options: TcpListenerOptions & { readonly tls: TlsOptions }): Effect.Effect<
    TlsListenerService,
    ListenError | ResolveError | InvalidArgumentError | UnsupportedError,
    Scope.Scope
  >
  (options?: TcpListenerOptions): Effect.Effect<
    TcpListenerService,
    ListenError | ResolveError | InvalidArgumentError | UnsupportedError,
    Scope.Scope
  >
} = (options: TcpListenerOptions = {}): Effect.Effect<
  ListenerService<any, InetAddress>,
  ListenError | ResolveError | InvalidArgumentError | UnsupportedError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    yield* checkOptions(options)
    const port = options.localPort ?? 0
    const backlog = options.backlog ?? 511
    yield* checkPort(port, "localPort", { allowZero: true })
    yield* check(rules.invalidBacklog(backlog))
    if (options.localHost !== undefined) yield* checkHost(options.localHost, "localHost")
    const reusePort = options.reusePort ?? false
    yield* checkReusePort(reusePort)
    yield* check(rules.invalidBoolean(options.ipv6Only, "ipv6Only"))
    if (options.ipv6Only === true && options.family === "IPv4") {
      return yield* Effect.fail(
        new InvalidArgumentError({ argument: "ipv6Only", why: "cannot be true with family IPv4" })
      )
    }
    const socketOptions = yield* checkTcpSocketOptions(options)
    const perConnection = socketOptions.keepAlive !== undefined || socketOptions.receiveBufferSize !== undefined ||
      socketOptions.sendBufferSize !== undefined || socketOptions.noDelay === false
    // A TLS listener's certificate and key are checked before anything is bound.
    const tls = options.tls === undefined ? undefined : yield* tlsListener.serverOptions(options.tls)
    const plans = yield* plan(options)
    const servers = yield* Effect.acquireRelease(
      bindConsistently(plans, port, backlog, reusePort).pipe(
        // No IPv6 on this system: the dual-stack default falls back to IPv4 only.
        Effect.catchIf(
          (error) =>
            options.localHost === undefined && (options.family ?? "any") === "any" && options.ipv6Only !== true &&
            (error.reason === "AddressNotAvailable" ||
              (error.cause as { code?: string } | undefined)?.code === "EAFNOSUPPORT"),
          () => bindAll([{ host: "0.0.0.0", ipv6Only: false }], port, backlog, reusePort)
        )
      ),
      (servers) => Effect.forEach(servers, internal.closeServer, { discard: true })
    )
    const listener = internal.make({
      servers,
      addresses: servers.map(serverAddress),
      description: servers.map((s) => {
        const a = serverAddress(s)
        return formatHostPort(a.host, a.port)
      }).join(", "),
      backlog,
      wrap: perConnection ? tcp.makeAcceptedTcpStream(socketOptions) : (socket) => tcp.makeTcpStream(socket, "server")
    })
    yield* Effect.addFinalizer(() => listener.close)
    return tls ? tlsListener.make(listener, tls) : listener
  })

/**
 * A listener bound as {@link createTcpListener} does, for as long as the layer lives. It
 * provides the stream-typed tag, `TcpListener` (or `TlsListener` when `tls` is given), and the
 * generic `Listener` tag, so `Listener.serve` keeps working; a TCP and a UNIX listener layer
 * can coexist in one program under their own tags.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerTcp: {
  (options: TcpListenerOptions & { readonly tls: TlsOptions }): Layer.Layer<
    TlsListener | ListenerService,
    ListenError | ResolveError | InvalidArgumentError | UnsupportedError
  >
  (options?: TcpListenerOptions): Layer.Layer<
    TcpListener | ListenerService,
    ListenError | ResolveError | InvalidArgumentError | UnsupportedError
  >
} = (options: TcpListenerOptions = {}): Layer.Layer<
  TcpListener | TlsListener | ListenerService,
  ListenError | ResolveError | InvalidArgumentError | UnsupportedError
> => {
  const acquire = createTcpListener(options)
  const provide = <I, S extends ListenerService<any, InetAddress>>(tag: Context.Key<I, S>) =>
    Layer.effectContext(
      Effect.map(acquire, (listener) => Context.make(internal.tag, listener).pipe(Context.add(tag, listener as S)))
    ) as Layer.Layer<
      TcpListener | TlsListener | ListenerService,
      ListenError | ResolveError | InvalidArgumentError | UnsupportedError
    >
  return options.tls === undefined ? provide(TcpListener) : provide(TlsListener)
}
