/**
 * No unhandled rejections or uncaught exceptions (reliability issue, item 8): test/setup.ts,
 * vitest's setup file for every test file under test/ (this directory included), records them
 * and fails the test during which one occurred. This checks that the guard applies to the
 * reliability suite: the config names it, its pattern covers these files, and its listeners are
 * installed in the worker that runs them.
 */
import { describe, expect, it } from "@effect/vitest"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import config from "../../vitest.config.js"
import { report } from "./resources.js"

describe("the unhandled-error guard", () => {
  it("test/setup.ts is vitest's setup file for test/**/*.test.ts, and its listeners are installed here", () => {
    const test =
      (config as { test?: { setupFiles?: ReadonlyArray<string> | string; include?: ReadonlyArray<string> } }).test
    const setupFiles = ([] as Array<string>).concat(test?.setupFiles ?? [])
    const include = test?.include ?? []
    const here = path.relative(
      path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.."),
      fileURLToPath(import.meta.url)
    )
    const rejection = process.listenerCount("unhandledRejection")
    const exception = process.listenerCount("uncaughtException")
    report("guard", {
      setupFiles,
      include,
      thisFile: here,
      unhandledRejectionListeners: rejection,
      uncaughtExceptionListeners: exception
    })
    expect(setupFiles).toContain("test/setup.ts")
    expect(include).toContain("test/**/*.test.ts")
    expect(here.startsWith("test/reliability/")).toBe(true)
    expect(rejection).toBeGreaterThanOrEqual(1)
    expect(exception).toBeGreaterThanOrEqual(1)
  })
})
