/**
 * Two in-memory channel ports joined back to back: every message is encoded
 * with the real hypercore/alpha codecs and decoded on the other side, in
 * order, asynchronously. For replicator tests that do not need a socket.
 */
import { decode, encode } from "../../lib/encoding/compact.ts";
import { HYPERCORE_MESSAGES } from "../../lib/wire/messages.ts";
import type { ChannelPort, Peer } from "../../lib/wire/replicator.ts";
import type { Codec } from "../../lib/encoding/compact.ts";

/** One end; `peer` is set once the replicator attaches. */
export interface PortEnd extends ChannelPort {
  peer: Peer | null;
  /** Messages this end sent, as [type, bytes]. */
  sent: [number, Uint8Array][];
  /** Replaces outgoing messages (to simulate a hostile peer); return null to drop. */
  tamper: ((type: number, bytes: Uint8Array) => Uint8Array | null) | null;
}

/** Makes two connected ports. */
export function portPair(): [PortEnd, PortEnd] {
  let queue = Promise.resolve();
  const make = (): PortEnd => ({
    peer: null,
    sent: [],
    tamper: null,
    send(type, message) {
      if (closed) return false;
      const codec = HYPERCORE_MESSAGES[type] as unknown as Codec<unknown>;
      let bytes = encode(codec, message);
      this.sent.push([type, bytes]);
      if (this.tamper) {
        const t = this.tamper(type, bytes);
        if (t === null) return true;
        bytes = t;
      }
      const other = this === a ? b : a;
      queue = queue.then(async () => {
        if (closed || !other.peer) return;
        await other.peer.onmessage(type, decode(codec, bytes));
      });
      return true;
    },
    drained: () => Promise.resolve(),
    close() {
      if (closed) return;
      closed = true;
      queueMicrotask(() => {
        a.peer?.onclose("port closed");
        b.peer?.onclose("port closed");
      });
    },
  });
  let closed = false;
  const a = make();
  const b = make();
  return [a, b];
}

/** Attaches two replicators to a fresh port pair. */
export function connect(
  left: { attach(port: ChannelPort, name: string): Peer },
  right: { attach(port: ChannelPort, name: string): Peer },
): [PortEnd, PortEnd] {
  const [a, b] = portPair();
  // Set both peers before either starts sending, as an opened channel does.
  a.peer = left.attach(a, "left");
  b.peer = right.attach(b, "right");
  return [a, b];
}
