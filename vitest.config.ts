import { configDefaults, defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The Effect 4 edition's suite runs on its own vitest 5 (node scripts/effect4.mjs test).
    exclude: [...configDefaults.exclude, "test/effect4/**"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Socket tests are I/O bound; a few workers keep the run short on a 2-core machine.
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } }
  }
})
