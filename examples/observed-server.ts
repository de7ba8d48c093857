/**
 * An observed echo server: serves echo over TCP and exposes effect-sockets' metrics (and any
 * other Effect metric of the process) in the Prometheus text format on a loopback HTTP port.
 * Effect's own metric snapshot is rendered: no exporter is needed.
 *
 *   npx tsx examples/observed-server.ts [--port 1234] [--metrics-port 9464]
 *   curl http://127.0.0.1:9464/metrics
 */
import { Console, Effect, Metric, MetricState } from "effect"
import type { MetricPair } from "effect"
import * as http from "node:http"
import { type ByteStream, Listener } from "../src/index.js"
import { flags, formatAddress, isMain, port, run } from "./lib/cli.js"

/** Echo until the client ends its side; `serve` closes the stream when it returns. */
export const echo = (client: ByteStream.ByteStream) =>
  Effect.gen(function*() {
    for (;;) {
      const chunk = yield* client.receive().pipe(Effect.catchTag("EndOfStream", () => Effect.succeed(undefined)))
      if (chunk === undefined) return
      yield* client.send(chunk)
    }
  })

const escape = (value: string): string => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, "\\\"")

const labels = (tags: ReadonlyArray<{ readonly key: string; readonly value: string }>, extra?: string): string => {
  const parts = tags.map((t) => `${t.key}="${escape(t.value)}"`)
  if (extra !== undefined) parts.push(extra)
  return parts.length === 0 ? "" : `{${parts.join(",")}}`
}

const number = (n: number | bigint): string =>
  typeof n === "bigint" ? n.toString() : Number.isFinite(n) ? String(n) : n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN"

/** Effect's metric snapshot as Prometheus text (exposition format 0.0.4). */
export const renderPrometheus = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): string => {
  const byName = new Map<string, Array<MetricPair.MetricPair.Untyped>>()
  for (const pair of pairs) {
    const list = byName.get(pair.metricKey.name) ?? []
    list.push(pair)
    byName.set(pair.metricKey.name, list)
  }
  const out: Array<string> = []
  for (const [name, list] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
    const first = list[0]!
    const help = first.metricKey.description._tag === "Some" ? first.metricKey.description.value : name
    const state = first.metricState
    const type = MetricState.isCounterState(state)
      ? "counter"
      : MetricState.isGaugeState(state)
      ? "gauge"
      : MetricState.isHistogramState(state)
      ? "histogram"
      : MetricState.isSummaryState(state)
      ? "summary"
      : "untyped"
    out.push(`# HELP ${name} ${help.replace(/\n/g, " ")}`, `# TYPE ${name} ${type}`)
    for (const { metricKey, metricState } of list) {
      const tags = metricKey.tags
      if (MetricState.isCounterState(metricState)) out.push(`${name}${labels(tags)} ${number(metricState.count)}`)
      else if (MetricState.isGaugeState(metricState)) out.push(`${name}${labels(tags)} ${number(metricState.value)}`)
      else if (MetricState.isHistogramState(metricState)) {
        // Effect's buckets are cumulative already, as Prometheus wants them.
        for (const [bound, count] of metricState.buckets) {
          out.push(`${name}_bucket${labels(tags, `le="${number(bound)}"`)} ${count}`)
        }
        if (!metricState.buckets.some(([bound]) => bound === Number.POSITIVE_INFINITY)) {
          out.push(`${name}_bucket${labels(tags, `le="+Inf"`)} ${metricState.count}`)
        }
        out.push(`${name}_sum${labels(tags)} ${number(metricState.sum)}`)
        out.push(`${name}_count${labels(tags)} ${metricState.count}`)
      } else if (MetricState.isFrequencyState(metricState)) {
        for (const [key, count] of metricState.occurrences) {
          out.push(`${name}${labels(tags, `key="${escape(key)}"`)} ${count}`)
        }
      } else if (MetricState.isSummaryState(metricState)) {
        for (const [quantile, value] of metricState.quantiles) {
          if (value._tag === "Some") out.push(`${name}${labels(tags, `quantile="${quantile}"`)} ${number(value.value)}`)
        }
        out.push(`${name}_sum${labels(tags)} ${number(metricState.sum)}`)
        out.push(`${name}_count${labels(tags)} ${metricState.count}`)
      }
    }
  }
  return out.join("\n") + "\n"
}

/** The metrics endpoint: GET /metrics on 127.0.0.1:`port`, closed with the scope. */
const metricsServer = (metricsPort: number) =>
  Effect.acquireRelease(
    Effect.async<http.Server, Error>((resume) => {
      const server = http.createServer((request, response) => {
        if (request.url !== "/metrics") {
          response.writeHead(404).end()
          return
        }
        Effect.runPromise(Metric.snapshot).then((pairs) => {
          response.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" })
          response.end(renderPrometheus(pairs))
        })
      })
      server.once("error", (error) => resume(Effect.fail(error)))
      server.listen(metricsPort, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  )

/** Binds both ports, announces them, then serves until interrupted. */
export const observedServer = (options: { readonly port: number; readonly metricsPort: number }) =>
  Effect.scoped(Effect.gen(function*() {
    const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1", localPort: options.port })
    if (!Number.isInteger(options.metricsPort) || options.metricsPort < 0 || options.metricsPort > 65535) {
      return yield* Effect.fail(new Error(`--metrics-port must be a port number (got ${options.metricsPort})`))
    }
    const metrics = yield* metricsServer(options.metricsPort)
    const address = metrics.address()
    const metricsAt = typeof address === "object" && address !== null ? address.port : options.metricsPort
    yield* Console.log(`listening on ${listener.addresses.map(formatAddress).join(", ")}`)
    yield* Console.log(`metrics on http://127.0.0.1:${metricsAt}/metrics`)
    return yield* listener.serve(echo)
  }))

if (isMain(import.meta.url)) {
  const args = flags({ port: "1234", "metrics-port": "9464" })
  run(observedServer({ port: port(args.port), metricsPort: port(args["metrics-port"]) }))
}
