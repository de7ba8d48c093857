/**
 * effect-sockets: TCP, TLS, UNIX and datagram sockets for Effect programs on Node.js.
 *
 * @since 0.1.0
 */

/**
 * The byte stream interface and its wrappers.
 *
 * @since 0.1.0
 */
export * as ByteStream from "./ByteStream.js"

/**
 * Datagram sockets: UDP and UNIX datagram.
 *
 * @since 0.1.0
 */
export * as Datagram from "./Datagram/index.js"

/**
 * Listeners and `serve`.
 *
 * @since 0.1.0
 */
export * as Listener from "./Listener/index.js"

/**
 * The error family.
 *
 * @since 0.1.0
 */
export * as NetError from "./NetError.js"

/**
 * Connected byte streams: `connectTcp`, `connectUnix`, `wrapTls` (STARTTLS).
 *
 * @since 0.1.0
 */
export * as Socket from "./Socket/index.js"
