// One socket write per turn of the event loop. Under Noise and Yamux, libp2p's TCP
// connection writes every piece of a frame as a socket write of its own (a Noise length
// prefix, a ciphertext, a tag, a Yamux header: 5–7 writes for one /efed/infer frame), and
// with TCP_NODELAY each is a syscall and a segment the receiver wakes up for. Corking the
// socket at the first write of a tick and uncorking it on the next tick sends them as one
// writev, Node's own pattern for this (net.Socket#cork); bytes and order are unchanged.
import type { Socket } from "node:net";
import type { Connection } from "@libp2p/interface";

const CORKED = Symbol("efed.corked");

/** Coalesces `socket`'s writes per tick (once per socket). */
export function coalesceWrites(socket: Socket): void {
  const s = socket as Socket & { [CORKED]?: true };
  if (s[CORKED]) return;
  s[CORKED] = true;
  const write = s.write;
  const uncork = () => s.uncork();
  s.write = function (this: Socket, ...args: Parameters<Socket["write"]>) {
    if (s.writableCorked === 0 && !s.destroyed) {
      s.cork();
      process.nextTick(uncork);
    }
    return write.apply(this, args);
  } as Socket["write"];
}

/** The TCP socket under a libp2p connection, if it has one (a relayed one does not). It is
 * not public API: looked up defensively, so a libp2p that moves it only loses the gain. */
export function socketOf(c: Connection): Socket | undefined {
  const s = (c as unknown as { maConn?: { socket?: unknown } }).maConn?.socket;
  return s !== null && typeof s === "object" && typeof (s as Socket).cork === "function" && typeof (s as Socket).uncork === "function" ? (s as Socket) : undefined;
}
