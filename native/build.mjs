// The install step (package.json "install": "node native/build.mjs").
//
// Builds build/Release/effect_sockets.node with npm's own node-gyp, against local Node headers
// when it can find them (npm's `nodedir` config, else the running node's own prefix), so that
// nothing is downloaded. Never fails the install: where the addon cannot be built, TCP/UDP
// still work and only the UNIX-socket features fail (with UnsupportedError), so it warns and
// exits 0. Windows is skipped (AF_UNIX with SCM_RIGHTS is a POSIX feature).
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

const warn = (why) => {
  const line = "-".repeat(78)
  process.stderr.write(
    `\n${line}\neffect-sockets: the native addon was not built: ${why}\n` +
      "UNIX stream/datagram sockets and fd passing will fail with UnsupportedError;\n" +
      "TCP, TLS and UDP are unaffected. To retry: install python3, make and a C compiler,\n" +
      `then run \`node native/build.mjs\` in ${root}\n${line}\n\n`
  )
}

if (process.platform === "win32") {
  process.stderr.write("effect-sockets: skipping the native addon on Windows (UNIX sockets unsupported)\n")
  process.exit(0)
}

// npm's bundled node-gyp: npm tells install scripts where it is; otherwise it sits next to node.
const nodeGyp = [
  process.env.npm_config_node_gyp,
  path.join(path.dirname(process.execPath), "../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js")
].find((candidate) => candidate !== undefined && candidate !== "" && fs.existsSync(candidate))

if (nodeGyp === undefined) {
  warn("npm's node-gyp was not found")
  process.exit(0)
}

// Local headers: npm's `nodedir` config wins; else the running node's prefix if it ships them
// (official tarballs, nvm, Homebrew, distribution packages with headers).
const hasHeaders = (dir) => fs.existsSync(path.join(dir, "include", "node", "node_api.h"))
const prefix = path.resolve(path.dirname(process.execPath), "..")
const nodedir = process.env.npm_config_nodedir || (hasHeaders(prefix) ? prefix : undefined)

const args = [nodeGyp, "rebuild", "--loglevel=warn"]
if (nodedir !== undefined) args.push(`--nodedir=${nodedir}`)

process.stderr.write(
  `effect-sockets: building the native addon (${
    nodedir !== undefined ? `headers from ${nodedir}` : "node-gyp's default headers"
  })\n`
)
const result = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" })
const built = path.join(root, "build", "Release", "effect_sockets.node")

if (result.error !== undefined) {
  warn(`node-gyp could not be run (${result.error.message})`)
} else if (result.status !== 0) {
  warn(`node-gyp exited with ${result.status ?? result.signal} (its output is above)`)
} else if (!fs.existsSync(built)) {
  warn(`node-gyp succeeded but ${built} is missing`)
} else {
  process.stderr.write(`effect-sockets: built ${path.relative(root, built)}\n`)
}
process.exit(0)
