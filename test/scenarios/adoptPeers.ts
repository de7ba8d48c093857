/**
 * python3 peers that make sockets and pass them to us with SCM_RIGHTS, for both editions'
 * adoption tests (test/adopt.test.ts for Effect 3, test/effect4/adopt.test.ts for Effect 4).
 * Each script takes a path, listens there (printing "ready"), and sends its fds with one byte to
 * the first client; it then prints what the test needs to know and serves the sockets it kept.
 */

/** Inet sockets: [tcp client, tcp listener, udp, unbound tcp, connected udp]; prints the listener's and the udp port. */
export const inetPeerScript = [
  "import socket, sys",
  "srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
  "srv.bind(sys.argv[1]); srv.listen(1); print('ready')",
  "c, _ = srv.accept()",
  "lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM); lst.bind(('127.0.0.1', 0)); lst.listen(8)",
  "cli = socket.create_connection(lst.getsockname()); acc, _ = lst.accept()",
  "udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(('127.0.0.1', 0))",
  "unbound = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
  "cudp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); cudp.connect(udp.getsockname())",
  "socket.send_fds(c, [b'x'], [cli.fileno(), lst.fileno(), udp.fileno(), unbound.fileno(), cudp.fileno()])",
  "print(lst.getsockname()[1], udp.getsockname()[1])",
  "data = acc.recv(100); acc.sendall(data.upper())",
  "c.recv(1)"
].join("\n")

/**
 * AF_UNIX sockets: [stream pair a, stream pair b, listener bound at argv[2], datagram pair a,
 * datagram pair b, datagram socket bound at argv[3]]; prints "sent" once they are on their way.
 */
export const unixPeerScript = [
  "import socket, sys",
  "srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
  "srv.bind(sys.argv[1]); srv.listen(1); print('ready')",
  "c, _ = srv.accept()",
  "sa, sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)",
  "lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); lst.bind(sys.argv[2]); lst.listen(8)",
  "da, db = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)",
  "bound = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); bound.bind(sys.argv[3])",
  "socket.send_fds(c, [b'x'], [s.fileno() for s in (sa, sb, lst, da, db, bound)])",
  "for s in (sa, sb, lst, da, db, bound): s.close()",
  "print('sent')",
  "c.recv(1)"
].join("\n")
