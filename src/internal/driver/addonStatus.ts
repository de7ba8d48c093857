/**
 * @internal
 * Driver: whether the native addon can be used, decided once (Effect-free; each edition's
 * `internal/native.ts` turns a refusal into its `UnsupportedError`). `EFFECT_SOCKETS_DISABLE_ADDON=1`
 * makes it unavailable on purpose, to exercise the `node:net` fallbacks. A passing failure (dlopen
 * under EMFILE) is not remembered: the next use tries again.
 */
import { type Addon, AddonUnavailable, load } from "./addon.js"

/** @internal The addon, or why it cannot be used. */
export type AddonStatus = { readonly addon: Addon } | { readonly why: string }

let cached: AddonStatus | undefined

/** @internal */
export const addonStatus = (): AddonStatus => {
  if (cached !== undefined) return cached
  if (process.env["EFFECT_SOCKETS_DISABLE_ADDON"] === "1") {
    return cached = { why: "the native addon is disabled (EFFECT_SOCKETS_DISABLE_ADDON=1)" }
  }
  try {
    return cached = { addon: load() }
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error)
    if (error instanceof AddonUnavailable && !error.permanent) return { why }
    return cached = { why }
  }
}
