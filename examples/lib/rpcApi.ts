/**
 * The rpc group the rpc examples share: a plain call, a streaming call, and one whose typed
 * error is a NetError sent over the wire.
 */
import { Rpc, RpcGroup } from "@effect/rpc"
import { Effect, Schema, Stream } from "effect"
import { NetError, Socket } from "../../src/index.js"

export class Api extends RpcGroup.make(
  Rpc.make("Greet", { payload: { name: Schema.String }, success: Schema.String }),
  Rpc.make("Count", { payload: { upTo: Schema.Number }, success: Schema.Number, stream: true }),
  /** The server dials `host:port` for the client: a failure comes back as a typed NetError. */
  Rpc.make("Probe", {
    payload: { host: Schema.String, port: Schema.Number },
    success: Schema.String,
    error: NetError.NetErrorSchema
  })
) {}

export const handlers = Api.toLayer({
  Greet: ({ name }) => Effect.succeed(`Hello, ${name}`),
  Count: ({ upTo }) => Stream.range(1, upTo),
  Probe: ({ host, port }) =>
    Effect.scoped(Effect.as(Socket.connectTcp(host, port), `${host}:${port} accepts connections`))
})
