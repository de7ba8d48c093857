/**
 * For the showcase: runs an effect with OpenTelemetry (through @effect/opentelemetry's NodeSdk)
 * recording spans in memory, and prints the finished spans as a tree with their attributes.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Console, Effect } from "effect"

const parentOf = (span: ReadableSpan): string | undefined =>
  (span as unknown as { parentSpanContext?: { spanId: string } }).parentSpanContext?.spanId

const render = (spans: ReadonlyArray<ReadableSpan>): Array<string> => {
  const ids = new Set(spans.map((s) => s.spanContext().spanId))
  const children = (parent: string | undefined) =>
    spans
      .filter((s) => (parent === undefined ? !ids.has(parentOf(s) ?? "") : parentOf(s) === parent))
      .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1])
  const lines: Array<string> = []
  const walk = (span: ReadableSpan, depth: number) => {
    const attributes = Object.entries(span.attributes)
      .filter(([key]) =>
        key.startsWith("network.") || key.startsWith("server.") || key.startsWith("tls.") ||
        key === "error.type"
      )
      .map(([key, value]) => `${key}=${String(value)}`)
      .join(" ")
    lines.push(`${"  ".repeat(depth)}${span.name}${attributes ? ` (${attributes})` : ""}`)
    for (const child of children(span.spanContext().spanId)) walk(child, depth + 1)
  }
  for (const root of children(undefined)) walk(root, 0)
  return lines
}

/** Runs `self` traced, then prints every span it produced as a tree. */
export const printSpanTree = <A, E>(self: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.suspend(() => {
    const exporter = new InMemorySpanExporter()
    // Printed inside the layer: its end shuts the exporter down, which forgets the spans.
    return self.pipe(
      Effect.tap(() =>
        Effect.forEach(render(exporter.getFinishedSpans()), (line) => Console.log(`  ${line}`), { discard: true })
      ),
      Effect.provide(NodeSdk.layer(() => ({
        resource: { serviceName: "effect-sockets-showcase" },
        spanProcessor: new SimpleSpanProcessor(exporter)
      })))
    )
  })
