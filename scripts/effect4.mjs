// The Effect 4 edition's harness (plain Node, no effect import: it runs before anything is installed).
//
//   node scripts/effect4.mjs setup   installs test/effect4 (effect 4.1, vitest 5) from its lockfile when its
//                                    node_modules is missing or older than the lockfile, and links
//                                    src/effect4/node_modules (and examples/effect4/node_modules) to it, so that every file under src/effect4
//                                    resolves `effect` to 4.1 while the rest of src resolves the root's 3.22
//                                    (tsc, tsx, vitest and Node all follow the link)
//   node scripts/effect4.mjs test    runs test/effect4's vitest 5 on a Node >= 22.19 (Effect 4's floor): this
//                                    Node if it qualifies, else the Node 24 of scripts/node-lines.sh
//                                    (extra arguments go to vitest, e.g. a test file)
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..")
const harness = path.join(root, "test", "effect4")
const modules = path.join(harness, "node_modules")
// Every tree of the edition resolves `effect` (and @effect/platform-node) to 4.x through one link each.
const links = [
  path.join(root, "src", "effect4", "node_modules"),
  path.join(root, "examples", "effect4", "node_modules")
]

const setup = () => {
  const lock = path.join(harness, "package-lock.json")
  // npm ci writes node_modules/.package-lock.json last: its absence or age means an interrupted or stale install.
  const installed = path.join(modules, ".package-lock.json")
  if (!fs.existsSync(installed) || fs.statSync(installed).mtimeMs < fs.statSync(lock).mtimeMs) {
    execFileSync("npm", ["ci", "--prefix", harness, "--no-audit", "--no-fund", "--loglevel=error"], {
      stdio: "inherit"
    })
  }
  for (const link of links) {
    const target = path.relative(path.dirname(link), modules)
    let current
    try {
      current = fs.readlinkSync(link)
    } catch {
      current = undefined
    }
    if (current !== target) {
      fs.rmSync(link, { force: true, recursive: true })
      fs.mkdirSync(path.dirname(link), { recursive: true })
      fs.symlinkSync(target, link, "dir")
    }
  }
}

const atLeast = (version, [major, minor]) => {
  const [a, b] = version.replace(/^v/, "").split(".").map(Number)
  return a > major || (a === major && b >= minor)
}

const nodeForEffect4 = () => {
  if (atLeast(process.version, [22, 19])) return process.execPath
  const out = execFileSync("bash", [path.join(root, "scripts", "node-lines.sh"), "24"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"]
  })
  const line = out.split("\n").find((l) => l.startsWith("24 "))
  if (line === undefined) throw new Error(`scripts/node-lines.sh printed no Node 24 line:\n${out}`)
  return line.slice(3).trim()
}

const test = (args) => {
  setup()
  const node = nodeForEffect4()
  const vitest = path.join(modules, "vitest", "vitest.mjs")
  const result = spawnSync(node, [vitest, "run", "--root", harness, ...args], { stdio: "inherit", cwd: root })
  process.exit(result.status ?? 1)
}

const [command, ...rest] = process.argv.slice(2)
if (command === "setup") setup()
else if (command === "test") test(rest)
else {
  console.error("usage: node scripts/effect4.mjs setup | test [vitest arguments]")
  process.exit(2)
}
