/**
 * @internal
 * The addon as the rest of the code sees it: loaded on first use (TCP/UDP users never load it),
 * and its absence a typed `UnsupportedError` that says why (remembered only when permanent). `EFFECT_SOCKETS_DISABLE_ADDON=1`
 * makes it unavailable on purpose, to exercise the `node:net` fallbacks.
 */
import * as Effect from "effect/Effect"
import { UnsupportedError } from "../NetError.js"
import { type Addon, AddonUnavailable, load } from "./driver/addon.js"

let cached: { readonly addon: Addon } | { readonly why: string } | undefined

/** @internal */
export const loadAddon = (operation: string): Effect.Effect<Addon, UnsupportedError> =>
  Effect.suspend(() => {
    if (cached === undefined) {
      if (process.env["EFFECT_SOCKETS_DISABLE_ADDON"] === "1") {
        cached = { why: "the native addon is disabled (EFFECT_SOCKETS_DISABLE_ADDON=1)" }
      } else {
        try {
          cached = { addon: load() }
        } catch (error) {
          const why = error instanceof Error ? error.message : String(error)
          // A passing failure (dlopen under EMFILE) is not remembered: the next use tries again.
          if (error instanceof AddonUnavailable && !error.permanent) {
            return Effect.fail(new UnsupportedError({ operation, why }))
          }
          cached = { why }
        }
      }
    }
    return "addon" in cached
      ? Effect.succeed(cached.addon)
      : Effect.fail(new UnsupportedError({ operation, why: cached.why }))
  })

/** @internal Whether the addon is available (loading it if needed). */
export const addonAvailable: Effect.Effect<boolean> = Effect.match(loadAddon("probe"), {
  onFailure: () => false,
  onSuccess: () => true
})
