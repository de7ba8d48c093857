import { defineConfig } from "vitest/config"

// The Effect 4 edition's suite: vitest 5 on Node >= 22.19, run by `node scripts/effect4.mjs test`.
export default defineConfig({
  test: {
    include: ["*.test.ts"],
    setupFiles: ["../setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    maxWorkers: 2
  }
})
