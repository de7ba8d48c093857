/** @internal What every datagram socket's Effect layer shares. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { ClosedResourceError } from "../NetError.js"

/** @internal A stream of receives that ends when the socket is closed. */
export const untilClosed = <A, E extends { readonly _tag: string }>(receive: Effect.Effect<A, E>) =>
  Stream.repeatEffectOption(
    Effect.mapError(
      receive,
      (error) =>
        error._tag === "ClosedResourceError" ? Option.none() : Option.some(error as Exclude<E, ClosedResourceError>)
    )
  )
