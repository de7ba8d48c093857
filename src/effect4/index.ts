/**
 * effect-sockets for Effect 4: TCP, TLS, UNIX and datagram sockets on the same drivers as the
 * root (Effect 3) entry, written in Effect 4's idioms. Import it as `effect-sockets/effect4`.
 *
 * @since 0.2.0
 */

/**
 * The byte stream interface and its wrappers.
 *
 * @since 0.2.0
 */
export * as ByteStream from "./ByteStream.js"

/**
 * Listeners and `serve`.
 *
 * @since 0.2.0
 */
export * as Listener from "./Listener/index.js"

/**
 * The error family.
 *
 * @since 0.2.0
 */
export * as NetError from "./NetError.js"

/**
 * Connected byte streams: `connectTcp`.
 *
 * @since 0.2.0
 */
export * as Socket from "./Socket/index.js"

/**
 * Datagram sockets: UDP and UNIX datagram.
 *
 * @since 0.2.0
 */
export * as Datagram from "./Datagram/index.js"

/**
 * The bridge to `effect/socket` (`Socket`, `SocketServer`), so `effect/rpc` and `effect/cluster`
 * run over this edition's streams and listeners.
 *
 * @since 0.2.0
 */
export * as Platform from "./Platform.js"
