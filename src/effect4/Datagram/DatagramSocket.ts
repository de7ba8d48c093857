/**
 * The shape every datagram socket shares, UDP and UNIX alike (AnyIO's
 * `UnreliableObjectStream`): whole datagrams in and out, each on its own, none ever merged
 * or split. The Effect 4 edition of `effect-sockets/Datagram`'s `DatagramSocket`.
 *
 * @since 0.2.0
 */
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { BrokenResourceError, BusyResourceError, ClosedResourceError, InvalidArgumentError } from "../NetError.js"

/**
 * The failures of a datagram `receive`: the socket was closed, another fiber is receiving, or
 * the system reported an error for an earlier datagram (e.g. ICMP port unreachable on a
 * connected socket, reason `"ConnectionRefused"`). The last one is reported once; the socket
 * keeps working.
 *
 * @since 0.2.0
 * @category models
 */
export type DatagramReceiveError = ClosedResourceError | BusyResourceError | BrokenResourceError

/**
 * The failures of a datagram send: closed, or this datagram failed (too long, unreachable…);
 * a failed datagram never breaks the socket.
 *
 * @since 0.2.0
 * @category models
 */
export type DatagramSendError = ClosedResourceError | BrokenResourceError | InvalidArgumentError

/**
 * An unconnected datagram socket: receives from anyone (each datagram with its sender's
 * `Address`), sends to any `Destination` (`[host, port]` for UDP, `[path]` for UNIX).
 *
 * @since 0.2.0
 * @category models
 */
export interface DatagramSocket<Address, Destination extends ReadonlyArray<unknown> = [Address]> {
  readonly receive: Effect.Effect<readonly [Uint8Array, Address], DatagramReceiveError>
  readonly sendto: (payload: Uint8Array | string, ...destination: Destination) => Effect.Effect<void, DatagramSendError>
  /**
   * Every received datagram with its sender; ends when the socket is closed. Each pull takes
   * every datagram already waiting as one batch (Effect 4 streams pull non-empty arrays).
   */
  readonly stream: Stream.Stream<readonly [Uint8Array, Address], Exclude<DatagramReceiveError, ClosedResourceError>>
  /** Closes the socket (idempotent). */
  readonly close: Effect.Effect<void>
}

/**
 * A connected datagram socket: sends to its one peer, and receives only from it.
 *
 * @since 0.2.0
 * @category models
 */
export interface ConnectedDatagramSocket {
  readonly receive: Effect.Effect<Uint8Array, DatagramReceiveError>
  readonly send: (payload: Uint8Array | string) => Effect.Effect<void, DatagramSendError>
  /** Every received datagram; ends when the socket is closed (batched as `DatagramSocket.stream`). */
  readonly stream: Stream.Stream<Uint8Array, Exclude<DatagramReceiveError, ClosedResourceError>>
  /** Closes the socket (idempotent). */
  readonly close: Effect.Effect<void>
}
