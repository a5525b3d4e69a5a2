/**
 * Which IPv4 interfaces multicast DNS uses, their subnets, and the UDP
 * sockets bound on them (see `mdns.ts` for why each socket is bound where).
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import { ipv4Bytes } from "./dns_message.ts";

/** An interface address and its subnet. */
export interface MdnsInterface {
  /** The interface's IPv4 address. */
  address: string;
  /** The subnet's network address as a 32-bit number. */
  network: number;
  /** The subnet mask as a 32-bit number. */
  mask: number;
}

/** Options for {@link chooseInterfaces}. */
export interface InterfaceChoice {
  /** Explicit addresses (each must belong to this machine). */
  interfaces?: readonly string[];
  /** With the default choice, also take loopback addresses. */
  loopback?: boolean;
}

/**
 * The interfaces to use: the given addresses (with their subnets from
 * `Deno.networkInterfaces()`), or every non-loopback IPv4 interface (plus
 * loopback when asked). Throws `PigeonError("BAD_ARGUMENT")` for an address
 * that is not IPv4 or not this machine's.
 */
export function chooseInterfaces(choice: InterfaceChoice): MdnsInterface[] {
  let system: Deno.NetworkInterfaceInfo[] = [];
  try {
    system = Deno.networkInterfaces().filter((i) => i.family === "IPv4");
  } catch (err) {
    // Without --allow-sys explicit addresses still work (with a guessed subnet).
    if (choice.interfaces === undefined) throw err;
  }
  if (choice.interfaces !== undefined) {
    return [...new Set(choice.interfaces)].map((address) => {
      const info = system.find((i) => i.address === address);
      if (info === undefined && system.length > 0) {
        throw new PigeonError(
          "BAD_ARGUMENT",
          `No interface of this machine has address ${address}`,
        );
      }
      return makeInterface(address, info?.cidr);
    });
  }
  const seen = new Set<string>();
  const out: MdnsInterface[] = [];
  for (const info of system) {
    const loop = info.address.startsWith("127.");
    if ((loop && !choice.loopback) || seen.has(info.address)) continue;
    seen.add(info.address);
    out.push(makeInterface(info.address, info.cidr));
  }
  return out;
}

/** True when `host` (IPv4 text) is on the interface's subnet. */
export function onSubnet(iface: MdnsInterface, host: string): boolean {
  const ip = parseIpv4(host);
  return ip !== null && ((ip & iface.mask) >>> 0) === iface.network;
}

/**
 * A UDP socket with address reuse. Throws `PigeonError("LOCKED")` when another
 * program holds the port without reuse, `PigeonError("BAD_ARGUMENT")` when the
 * address is not this machine's.
 */
export function bindUdp(hostname: string, port: number, loopback: boolean): Deno.DatagramConn {
  try {
    return Deno.listenDatagram({ transport: "udp", hostname, port, reuseAddress: true, loopback });
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) {
      const message = `UDP port ${port} on ${hostname} is held without address reuse`;
      throw new PigeonError("LOCKED", message, { cause: err });
    }
    if (err instanceof Deno.errors.AddrNotAvailable) {
      throw new PigeonError("BAD_ARGUMENT", `Cannot bind to ${hostname}`, { cause: err });
    }
    throw err;
  }
}

/** A multicast sender on `address` (loopback on): port `port` when it can be shared, else any port. */
export function bindSender(address: string, port: number): Deno.DatagramConn {
  try {
    return bindUdp(address, port, true);
  } catch (err) {
    if (!(err instanceof PigeonError && err.code === "LOCKED")) throw err;
    return bindUdp(address, 0, true);
  }
}

function makeInterface(address: string, cidr: string | undefined): MdnsInterface {
  const ip = parseIpv4(address);
  if (ip === null) throw new PigeonError("BAD_ARGUMENT", `Not an IPv4 address: ${address}`);
  const bits = cidr === undefined
    ? (address.startsWith("127.") ? 8 : 32)
    : Number(cidr.split("/")[1] ?? 32);
  const mask = bits <= 0 ? 0 : (0xffffffff << (32 - Math.min(bits, 32))) >>> 0;
  return { address, network: (ip & mask) >>> 0, mask };
}

function parseIpv4(host: string): number | null {
  try {
    const b = ipv4Bytes(host);
    return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  } catch {
    return null;
  }
}
