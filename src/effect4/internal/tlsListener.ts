/**
 * @internal
 * A TLS listener over any listener: each connection's handshake runs in that connection's own
 * fiber (inside `serve`) under a handshake timeout, so a slow or hostile client holds up nobody
 * else; a failed handshake is logged once with its cause and the server goes on.
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as Scope from "effect/Scope"
import { createContext } from "../../internal/driver/tls.js"
import { handshakeWarning } from "../../internal/tlsRules.js"
import type { ByteStream, SocketAddress } from "../ByteStream.js"
import type { Listener, ServeOptions } from "../Listener/index.js"
import { InvalidArgumentError } from "../NetError.js"
import type { TlsOptions, TlsStream } from "../Socket/Tls.js"
import { asServe, fromAccept } from "./listener.js"
import { serve } from "./serve.js"
import { errorType, metrics } from "./telemetry.js"
import { driverOptions, handshake, invalidTlsOptions } from "./tls.js"

/** The default handshake timeout of TLS listeners. */
const DEFAULT_HANDSHAKE_TIMEOUT = "30 seconds"

/**
 * @internal
 * The server side's options, with the SecureContext made once (for every connection: sessions
 * resume, and a certificate or key that cannot be used is an argument error now, not at the
 * first handshake).
 */
export const serverOptions = (options: TlsOptions): Effect.Effect<TlsOptions, InvalidArgumentError> => {
  const invalid = invalidTlsOptions(options, "tls")
  if (invalid) return Effect.fail(invalid)
  return Effect.try({
    try: () => ({
      ...options,
      serverSide: true,
      secureContext: createContext(driverOptions(options)),
      handshakeTimeout: options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT
    }),
    catch: (cause) =>
      new InvalidArgumentError({
        argument: "tls",
        why: `the certificate, key or CA cannot be used (${cause instanceof Error ? cause.message : String(cause)})`
      })
  })
}

/** @internal A TLS listener over `inner`, with options from `serverOptions`. */
export const make = <A extends ByteStream, Address extends SocketAddress>(
  inner: Listener<A, Address>,
  resolved: TlsOptions
): Listener<TlsStream, Address> => {
  const upgrade = (stream: A) =>
    Effect.acquireRelease(Effect.interruptible(handshake(stream, resolved)), (tls) => tls.close)

  const acceptUnscoped = Effect.flatMap(
    inner.acceptUnscoped,
    (stream) => Effect.tapError(handshake(stream, resolved), () => stream.close)
  )

  const plain = fromAccept(inner.addresses, acceptUnscoped, inner.close)
  const self: Listener<TlsStream, Address> = {
    ...plain,
    serve: asServe(<E, R>(
      handler: (stream: TlsStream) => Effect.Effect<unknown, E, R | Scope.Scope>,
      serveOptions?: ServeOptions
    ) =>
      serve(inner, (stream: A) =>
        Effect.matchEffect(upgrade(stream), {
          onFailure: (error) =>
            Effect.andThen(
              // The connection's span says why it ended (the handshake's own span too).
              Effect.andThen(
                Metric.update(metrics.handshakeFailures, 1),
                Effect.annotateCurrentSpan("error.type", errorType(error))
              ),
              Effect.logWarning(handshakeWarning(error, stream.attributes.remoteAddress)).pipe(
                Effect.annotateLogs({ error: error._tag, reason: "reason" in error ? error.reason : error._tag })
              )
            ),
          onSuccess: handler
        }), serveOptions)
    )
  }
  return self
}

/** @internal A TLS listener over `inner`: the server side's options are checked first. */
export const withTls = <A extends ByteStream, Address extends SocketAddress>(
  inner: Listener<A, Address>,
  options: TlsOptions
): Effect.Effect<Listener<TlsStream, Address>, InvalidArgumentError> =>
  Effect.map(serverOptions(options), (resolved) => make(inner, resolved))
