/**
 * Instructions per message, counted by `valgrind --tool=callgrind`: a stable instrument on a
 * machine whose wall-clock figures swing ±30% (the count barely moves whatever else runs).
 * W2 (TCP ping-pong, 64 B) and W5p (UNIX stream ping-pong, 64 B, the addon) with both ends in
 * this implementation, raw Node against effect-sockets; on Node >= 22.19 also Effect 4.1's own
 * NodeSocket and the Effect 4 edition (bench/effect4/instructions-worker.ts).
 *
 *   npm run bench:instructions                      N = 10000, 2 repeats, 2 at a time
 *   npm run bench:instructions -- --rounds 3000 --repeat 3 --jobs 1 --only W2 --nodes 24
 *
 * Each (workload, implementation) runs in a fresh process at N and at 2N round trips, under
 * callgrind with plain totals (no --toggle-collect); per round trip = (I(2N) - I(N)) / N, so
 * start-up, module loading and the JIT's warm-up (all in the first N) cancel out. N must be
 * past the warm-up: with --single-threaded, V8's optimising compiles run on the main thread and
 * are counted, and at N = 1500-3000 a compile or two still lands between N and 2N (a Turbofan
 * compile of the run loop is millions of instructions). At N = 3000 the same code read
 * 91k-108k per round trip from one build to the next; at N = 10000 the figures settle near
 * half that and agree within a few per cent (the cost of a run is start-up: the same ~90 s).
 * Each worker of bench/lines.ts has an instructions-worker.ts beside its worker.ts, bundled by esbuild into one
 * file (node under callgrind then starts in ~15 s instead of minutes through tsx). Node runs with `--single-threaded`: the real JIT and
 * GC, on the main thread instead of background threads, so when optimised code arrives does not
 * depend on how valgrind schedules threads. Every repeat gives its own figure; the table prints
 * their median and min–max (the spread). Counts are user-space instructions of the whole process
 * (both ends, Node, V8, libuv; not the kernel). Asserts nothing.
 */
import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { parseArgs } from "node:util"
import { type NodeLine, nodeLines, pool, repoRoot, runsOn, type Worker, workers } from "./lines.js"

const { values } = parseArgs({
  options: {
    rounds: { type: "string" },
    repeat: { type: "string" },
    jobs: { type: "string" },
    only: { type: "string" },
    nodes: { type: "string" }
  },
  strict: true
})
const N = Number(values.rounds ?? 10_000)
const repeats = Number(values.repeat ?? 2)
const jobs = Number(values.jobs ?? 2)
const only = values.only?.split(",")
const lines = nodeLines(values.nodes?.split(",").map(Number) ?? [Number(process.versions.node.split(".")[0])])

// Three levels under the repository root: the library finds its addon at <root>/build from the
// bundle's own location (src/internal/driver/addon.ts resolves "../../.." from its file).
const bundleOf = (worker: Worker) => path.join(repoRoot, "scratch", "instructions", "bundle", `${worker.name}.mjs`)

const build = (worker: Worker) => {
  const bundle = bundleOf(worker)
  fs.mkdirSync(path.dirname(bundle), { recursive: true })
  execFileSync(path.join(repoRoot, "node_modules", ".bin", "esbuild"), [
    path.join(path.dirname(worker.script), "instructions-worker.ts"),
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--target=node20",
    `--outfile=${bundle}`,
    "--log-level=warning",
    // Bundled CommonJS dependencies call require(); an ES module has none of its own.
    "--banner:js=import { createRequire as __createRequire } from 'node:module'; " +
    "const require = __createRequire(import.meta.url);"
  ], { stdio: "inherit" })
}

/** Instructions of one run of `impl` at `rounds` round trips under callgrind. */
const count = (bin: string, bundle: string, workload: string, impl: string, rounds: number): Promise<number> =>
  new Promise((resolve, reject) => {
    execFile(
      "valgrind",
      [
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        bin,
        "--single-threaded",
        bundle,
        workload,
        impl,
        JSON.stringify({ rounds })
      ],
      { timeout: 900_000, maxBuffer: 1 << 24 },
      (error, _stdout, stderr) => {
        const refs = /I\s+refs:\s+([\d,]+)/.exec(stderr)
        if (error || !refs) return reject(new Error(`${workload} ${impl} ${rounds}: ${error?.message}\n${stderr}`))
        resolve(Number(refs[1]!.replace(/,/g, "")))
      }
    )
  })

const main = async () => {
  execFileSync("valgrind", ["--version"], { stdio: "ignore" })
  const started = performance.now()
  const notes: Array<string> = []
  const cases: Array<{ line: NodeLine; bundle: string; workload: string; impl: string }> = []
  for (const worker of workers) {
    const on = lines.filter((line) => runsOn(worker, line))
    if (on.length === 0) continue
    const failed = worker.prepare?.()
    if (failed !== undefined) {
      notes.push(`${worker.name}: ${failed}`)
      continue
    }
    build(worker)
    const bundle = bundleOf(worker)
    const impls = JSON.parse(execFileSync(on[0]!.bin, [bundle, "--list"], { encoding: "utf8" })) as Record<
      string,
      ReadonlyArray<string>
    >
    for (const line of on) {
      for (const [workload, names] of Object.entries(impls)) {
        if (!only || only.includes(workload)) { for (const impl of names) cases.push({ line, bundle, workload, impl }) }
      }
    }
  }
  // Interleaved (every case's repeat 1, then repeat 2, …), short and long run side by side.
  const tasks = Array.from({ length: repeats }, () =>
    cases.flatMap((c) =>
      [N, 2 * N].map((rounds) => async () => {
        const instructions = await count(c.line.bin, c.bundle, c.workload, c.impl, rounds)
        process.stderr.write(".")
        return { ...c, rounds, instructions }
      })
    )).flat()
  const runs = await pool(tasks, jobs)
  process.stderr.write("\n")
  const perMessage = (c: (typeof cases)[number]) => {
    const of = (rounds: number) =>
      runs.filter((r) => r.line === c.line && r.workload === c.workload && r.impl === c.impl && r.rounds === rounds)
    const short = of(N)
    const long = of(2 * N)
    return short.map((s, i) => (long[i]!.instructions - s.instructions) / N)
  }
  const median = (xs: ReadonlyArray<number>) => {
    const s = [...xs].sort((a, b) => a - b)
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
  }
  const k = (n: number) => `${(n / 1000).toFixed(1)}k`
  console.log(
    `instructions per round trip (both ends, user space), callgrind, (I(${2 * N}) - I(${N})) / ${N}, ` +
      `${repeats} repeat(s), ${((performance.now() - started) / 1000).toFixed(0)} s`
  )
  console.log("")
  console.log("| workload | Node | implementation | instructions per round trip | spread (min–max) | × raw |")
  console.log("|---|---|---|---|---|---|")
  for (const c of cases) {
    const figures = perMessage(c)
    const raw = median(
      perMessage(cases.find((r) => r.line === c.line && r.workload === c.workload && r.impl === "raw")!)
    )
    console.log(
      `| ${c.workload} | ${c.line.version} | ${c.impl} | ${k(median(figures))} | ${k(Math.min(...figures))}–${
        k(Math.max(...figures))
      } | ${(median(figures) / raw).toFixed(2)}× |`
    )
  }
  for (const note of notes) console.log(`\nnote: ${note}`)
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
