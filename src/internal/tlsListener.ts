/**
 * @internal
 * A TLS listener over any listener: each connection's handshake runs in that connection's own
 * fiber (inside `serve`) under a handshake timeout, so a slow or hostile client holds up nobody
 * else; a failed handshake is logged once with its cause and the server goes on.
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as Scope from "effect/Scope"
import type { ByteStream, SocketAddress } from "../ByteStream.js"
import type { Listener, ServeOptions } from "../Listener/index.js"
import type { TlsOptions, TlsStream } from "../Socket/Tls.js"
import { asServe, fromAccept } from "./listener.js"
import { serve } from "./serve.js"
import { handshake } from "./tls.js"

/** The default handshake timeout of TLS listeners. */
const DEFAULT_HANDSHAKE_TIMEOUT = "30 seconds"

const handshakeFailures = Metric.counter("effect_sockets_tls_handshake_failures", {
  description: "TLS handshakes that failed on a listener"
})

/** @internal */
export const withTls = <A extends ByteStream, Address extends SocketAddress>(
  inner: Listener<A, Address>,
  options: TlsOptions
): Listener<TlsStream, Address> => {
  const serverOptions: TlsOptions = {
    ...options,
    serverSide: true,
    handshakeTimeout: options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT
  }
  const upgrade = (stream: A) =>
    Effect.acquireRelease(Effect.interruptible(handshake(stream, serverOptions)), (tls) => tls.close)

  const acceptUnscoped = Effect.flatMap(
    inner.acceptUnscoped,
    (stream) => Effect.tapError(handshake(stream, serverOptions), () => stream.close)
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
            Effect.zipRight(
              Metric.increment(handshakeFailures),
              Effect.logWarning(`effect-sockets: TLS handshake failed: ${error.message}`, error).pipe(
                Effect.annotateLogs("remoteAddress", stream.attributes.remoteAddress)
              )
            ),
          onSuccess: handler
        }), serveOptions)
    )
  }
  return self
}
