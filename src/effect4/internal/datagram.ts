/** @internal What every datagram socket's Effect layer shares. */
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { ClosedResourceError } from "../NetError.js"

/**
 * @internal
 * A stream of batches of receives that ends when the socket is closed: each pull is one
 * `receiveBatch` (every datagram already waiting), and `ClosedResourceError` is the end.
 */
export const untilClosed = <A, E extends { readonly _tag: string }>(
  receiveBatch: Effect.Effect<NonEmptyReadonlyArray<A>, E>
): Stream.Stream<A, Exclude<E, ClosedResourceError>> =>
  Stream.fromPull(Effect.succeed(
    Effect.catchIf(
      receiveBatch,
      (error): error is Extract<E, ClosedResourceError> => error._tag === "ClosedResourceError",
      () => Cause.done()
    ) as Effect.Effect<NonEmptyReadonlyArray<A>, Exclude<E, ClosedResourceError> | Cause.Done>
  ))
