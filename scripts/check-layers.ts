/**
 * The one rule of this house, checked on every import in src/ (run by `npm run lint`):
 *
 * - drivers (`src/internal/driver/`) import nothing from `effect`, and only types from outside
 *   their folder: they are what both Effect editions share;
 * - every other file imports no value from Node's I/O modules (`node:net`, `node:dgram`,
 *   `node:tls`, `node:dns`, `node:fs`, `node:stream`) and no value from the raw addon
 *   (`internal/native.ts`, its Effect-side loader, excepted): mechanics live in drivers;
 * - public modules do not import the addon's loader either (the transport choice is internal);
 * - internal files import public modules for types only, `NetError` (the ground floor) excepted.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..")
const src = path.join(root, "src")
const nodeIo = new Set(["node:net", "node:dgram", "node:tls", "node:dns", "node:fs", "node:stream"])

const files = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? files(full) : entry.name.endsWith(".ts") ? [full] : []
  })

interface Import {
  readonly specifier: string
  readonly typeOnly: boolean
  readonly line: number
}

/** Every import and re-export of a file, and whether it brings values or only types. */
const importsOf = (file: string): Array<Import> => {
  const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true)
  const out: Array<Import> = []
  for (const statement of source.statements) {
    const line = source.getLineAndCharacterOfPosition(statement.getStart()).line + 1
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      const clause = statement.importClause
      const named = clause?.namedBindings
      const typeOnly = clause !== undefined && (clause.isTypeOnly ||
        (clause.name === undefined && named !== undefined && ts.isNamedImports(named) &&
          named.elements.length > 0 && named.elements.every((element) => element.isTypeOnly)))
      out.push({ specifier: statement.moduleSpecifier.text, typeOnly, line })
    } else if (
      ts.isExportDeclaration(statement) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)
    ) {
      const clause = statement.exportClause
      const typeOnly = statement.isTypeOnly ||
        (clause !== undefined && ts.isNamedExports(clause) && clause.elements.every((element) => element.isTypeOnly))
      out.push({ specifier: statement.moduleSpecifier.text, typeOnly, line })
    }
  }
  return out
}

const problems: Array<string> = []
for (const file of files(src)) {
  const relative = path.relative(src, file)
  const isDriver = relative.startsWith(`internal${path.sep}driver${path.sep}`)
  const isInternal = relative.startsWith(`internal${path.sep}`)
  for (const { line, specifier, typeOnly } of importsOf(file)) {
    const where = `src/${relative}:${line}`
    const target = specifier.startsWith(".") ? path.relative(src, path.resolve(path.dirname(file), specifier)) : ""
    const targetIsInternal = target.startsWith(`internal${path.sep}`)
    const targetIsDriver = target.startsWith(`internal${path.sep}driver${path.sep}`)
    if (isDriver) {
      if (specifier === "effect" || specifier.startsWith("effect/")) {
        problems.push(`${where}: a driver imports ${specifier} (drivers are Effect-free)`)
      }
      if (target !== "" && !targetIsDriver && !typeOnly) {
        problems.push(`${where}: a driver imports values from ${specifier} (only types may cross into drivers)`)
      }
      continue
    }
    if (nodeIo.has(specifier) && !typeOnly) {
      problems.push(`${where}: imports a value from ${specifier} (Node I/O belongs in src/internal/driver/)`)
    }
    if (target === path.join("internal", "driver", "addon.js") && !typeOnly && relative !== "internal/native.ts") {
      problems.push(`${where}: calls the raw addon (addon mechanics belong in src/internal/driver/)`)
    }
    if (!isInternal && target === path.join("internal", "native.js")) {
      problems.push(`${where}: a public module loads the addon (choosing the transport is internal)`)
    }
    if (isInternal && target !== "" && !targetIsInternal && !typeOnly && target !== "NetError.js") {
      problems.push(`${where}: internal code imports values from the public module ${specifier} (types only)`)
    }
  }
}

// The root entry (and every public module but Platform) must load without the optional peer
// `@effect/platform`: nothing reachable from src/index.ts, types included, may import it.
const optionalPeers = (specifier: string) =>
  specifier === "@effect/platform" || specifier.startsWith("@effect/platform/")
const reached = new Set<string>()
const visit = (file: string, via: ReadonlyArray<string>) => {
  if (reached.has(file)) return
  reached.add(file)
  for (const { line, specifier } of importsOf(file)) {
    const where = `src/${path.relative(src, file)}:${line}`
    if (optionalPeers(specifier)) {
      problems.push(
        `${where}: imports the optional peer ${specifier}, reachable from src/index.ts (${via.join(" -> ")})`
      )
    } else if (specifier.startsWith(".")) {
      const target = path.resolve(path.dirname(file), specifier).replace(/\.js$/, ".ts")
      if (fs.existsSync(target)) visit(target, [...via, path.relative(src, target)])
      else if (fs.existsSync(target.replace(/\.ts$/, "/index.ts"))) {
        visit(target.replace(/\.ts$/, "/index.ts"), [...via, path.relative(src, target)])
      }
    }
  }
}
visit(path.join(src, "index.ts"), ["index.ts"])
if (reached.has(path.join(src, "Platform.ts"))) problems.push("src/index.ts reaches src/Platform.ts (subpath only)")

if (problems.length > 0) {
  console.error(`The one rule (../shared/STYLE.md, README "Architecture") is broken:\n${problems.join("\n")}`)
  process.exit(1)
}
console.log(
  `layers: ${
    files(src).length
  } files follow the one rule; ${reached.size} reachable from the root, none loads @effect/platform`
)
