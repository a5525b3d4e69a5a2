/**
 * Network-namespace harness for LAN tests: builds throwaway "hosts" (network
 * namespaces) joined by a veth pair or a bridge, runs commands in them, and
 * deletes everything afterwards.
 *
 * Nothing touches the machine's own network namespace: every link is created
 * directly inside a namespace of ours (`ip -n <ns> link add … peer … netns
 * <other>`), and a bridge lives in a hub namespace of its own. Deleting the
 * namespaces removes their links too. Names carry the test process's pid
 * (`pigeon-lan-<pid>-<n>`) so parallel runs cannot collide, and
 * {@link leftoverNamespaces} lets a test check that none survived.
 *
 * Needs root and iproute2; {@link lanSkipReason} says why a test should skip.
 *
 * @module
 */

/** Every namespace this harness makes starts with this. */
export const NETNS_PREFIX = "pigeon-lan-";
/** Bound on one `ip` command. */
export const IP_TIMEOUT_MS = 10_000;

/** One namespace of a {@link NetnsLan}. */
export interface NetnsHost {
  /** The namespace's name. */
  ns: string;
  /** Its IPv4 address on the test link. */
  address: string;
  /** Prefix length of that address. */
  prefix: number;
  /** Command prefix that runs a program inside it. */
  exec: string[];
}

/** Why LAN tests cannot run here, or null when they can. */
export function lanSkipReason(): string | null {
  if (Deno.build.os !== "linux") return "LAN tests need Linux network namespaces";
  if (Deno.uid() !== 0) return "LAN tests need root (ip netns)";
  try {
    const out = new Deno.Command("ip", { args: ["-V"], stdout: "null", stderr: "null" })
      .outputSync();
    if (!out.success) return "`ip -V` failed: iproute2 is missing or broken";
  } catch {
    return "The `ip` command (iproute2) is missing";
  }
  return null;
}

/** Output of a finished command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command with a time bound (SIGKILL when it runs out); never throws for a non-zero exit. */
export async function run(cmd: string[], timeoutMs = IP_TIMEOUT_MS): Promise<RunResult> {
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }, timeoutMs);
  try {
    const out = await child.output();
    const text = new TextDecoder();
    return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

async function ip(...args: string[]): Promise<string> {
  const r = await run(["ip", ...args]);
  if (r.code !== 0) throw new Error(`ip ${args.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Namespaces whose names start with `prefix` (default: this process's). */
export async function leftoverNamespaces(
  prefix = `${NETNS_PREFIX}${Deno.pid}-`,
): Promise<string[]> {
  const out = await ip("netns", "list");
  return out.split("\n").map((l) => l.split(" ")[0]!).filter((n) => n.startsWith(prefix));
}

let counter = 0;

/** A set of namespaces joined by one link; {@link close} deletes all of it. */
export class NetnsLan {
  /** The hosts, in the order they were asked for. */
  readonly hosts: NetnsHost[] = [];
  /** Every namespace created (hosts and the hub), for cleanup. */
  readonly #namespaces: string[] = [];

  private constructor() {}

  /**
   * Two namespaces joined by a veth pair, with `addresses` (default
   * 10.77.0.1/24 and 10.77.0.2/24) on their `eth0`.
   */
  static async veth(
    addresses: [string, string] = ["10.77.0.1/24", "10.77.0.2/24"],
  ): Promise<NetnsLan> {
    const lan = new NetnsLan();
    try {
      const [a, b] = [await lan.#addNamespace(), await lan.#addNamespace()];
      await ip("-n", a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b);
      await lan.#configure(a, "eth0", addresses[0]);
      await lan.#configure(b, "eth0", addresses[1]);
    } catch (err) {
      await lan.close();
      throw err;
    }
    return lan;
  }

  /**
   * Namespaces on one bridge (which lives in a hub namespace), one per address
   * in CIDR form, each with its address on `eth0`.
   */
  static async bridge(addresses: string[]): Promise<NetnsLan> {
    const lan = new NetnsLan();
    try {
      const hub = await lan.#addNamespace();
      await ip("-n", hub, "link", "add", "br0", "type", "bridge");
      await ip("-n", hub, "link", "set", "br0", "up");
      for (const [i, address] of addresses.entries()) {
        const ns = await lan.#addNamespace();
        const port = `p${i}`;
        await ip(
          "-n",
          hub,
          "link",
          "add",
          port,
          "type",
          "veth",
          "peer",
          "name",
          "eth0",
          "netns",
          ns,
        );
        await ip("-n", hub, "link", "set", port, "master", "br0");
        await ip("-n", hub, "link", "set", port, "up");
        await lan.#configure(ns, "eth0", address);
      }
    } catch (err) {
      await lan.close();
      throw err;
    }
    return lan;
  }

  /** Runs a command inside a host's namespace. */
  run(host: NetnsHost, cmd: string[], timeoutMs?: number): Promise<RunResult> {
    return run([...host.exec, ...cmd], timeoutMs);
  }

  /**
   * Kills whatever still runs inside the namespaces (only processes started
   * there, by pid), then deletes every namespace. Safe to call twice.
   */
  async close(): Promise<void> {
    const errors: string[] = [];
    for (const ns of this.#namespaces.splice(0).reverse()) {
      const pids = await run(["ip", "netns", "pids", ns]);
      for (
        const pid of pids.stdout.split("\n").map((l) => l.trim()).filter((l) => /^\d+$/.test(l))
      ) {
        try {
          Deno.kill(Number(pid), "SIGKILL");
        } catch { /* exited meanwhile */ }
      }
      const del = await run(["ip", "netns", "del", ns]);
      if (del.code !== 0) errors.push(`${ns}: ${del.stderr.trim()}`);
    }
    if (errors.length > 0) throw new Error(`Could not delete namespaces: ${errors.join("; ")}`);
  }

  async #addNamespace(): Promise<string> {
    const ns = `${NETNS_PREFIX}${Deno.pid}-${counter++}`;
    await ip("netns", "add", ns);
    this.#namespaces.push(ns);
    await ip("-n", ns, "link", "set", "lo", "up");
    return ns;
  }

  async #configure(ns: string, iface: string, cidr: string): Promise<void> {
    const [address, prefix] = cidr.split("/");
    await ip("-n", ns, "addr", "add", cidr, "dev", iface);
    await ip("-n", ns, "link", "set", iface, "up");
    this.hosts.push({
      ns,
      address: address!,
      prefix: Number(prefix ?? 32),
      exec: ["ip", "netns", "exec", ns],
    });
  }
}
