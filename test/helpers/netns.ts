// A small internet made of Linux network namespaces, for the multi-host test: a "public"
// segment (a bridge) with the chain, a relay and the verifiers; two home networks, each a
// router doing NAT (nftables masquerade) in front of one host; a client on the public
// segment. Names carry a per-run prefix, and remove() deletes everything made, also after a
// partial build. Needs root, iproute2 and nftables. Every link can be delayed (delay-line.ts:
// `tc netem` where the kernel has it, else a user-space TAP delay line).
import { execFileSync } from "node:child_process";
import { delayKind, netemDelay, tapDelayLine, type Delay, type DelayKind, type LinkEnds } from "./delay-line.ts";

/** The public segment: addresses libp2p counts as public (its private list excludes them). */
export const PUBLIC_NET = "7.7.7";
export const PUBLIC_HOST = `${PUBLIC_NET}.1`;
export const CLIENT_HOST = `${PUBLIC_NET}.20`;

export interface Home {
  /** The router's namespace and its public (NAT) address. */
  readonly router: string;
  readonly wan: string;
  /** The host behind it: its namespace and private address. */
  readonly host: string;
  readonly lan: string;
}

export interface Internet {
  readonly pub: string;
  readonly client: string;
  readonly homes: readonly [Home, Home];
  /** How links are delayed: netem, the TAP delay line, or not at all (neither works here). */
  readonly delayKind: DelayKind;
  /** Sets every link's delay, each direction (throws where delayKind is "none"). */
  setDelay(ms: number): Promise<void>;
  /** `ip netns exec <ns>`, to prefix a command with. */
  exec(ns: string): string[];
  remove(): void;
}

function sh(args: string[], input?: string): string {
  return execFileSync(args[0], args.slice(1), { input, stdio: ["pipe", "pipe", "pipe"], encoding: "utf8" });
}

/** Why namespaces cannot be made here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  const probe = `efprobe${process.pid}`;
  try {
    for (const tool of ["ip", "nft", "ping"]) sh(["sh", "-c", `command -v ${tool}`]);
  } catch {
    return "needs iproute2, nftables and ping (.ci/run installs them)";
  }
  try {
    sh(["ip", "netns", "add", probe]);
    sh(["ip", "netns", "del", probe]);
    return undefined;
  } catch (err) {
    return `cannot create network namespaces here (${(err as Error).message.split("\n")[0]}): needs root`;
  }
}

/** The links: client–segment, and for each home router–segment and router–host. */
const LINKS = 5;

/** Builds the topology, every link delayed `delayMs` each way (change it with setDelay). */
export async function buildInternet(delayMs = 0): Promise<Internet> {
  const p = `ef${(process.pid % 10000).toString(36)}${Math.floor(Math.random() * 36 * 36).toString(36)}`;
  const made: string[] = [];
  let delay: Delay | undefined;
  const ns = (name: string) => {
    const n = `${p}-${name}`;
    sh(["ip", "netns", "add", n]);
    made.push(n);
    sh(["ip", "-n", n, "link", "set", "lo", "up"]);
    return n;
  };
  const remove = () => {
    delay?.stop();
    for (const n of made.reverse()) {
      try {
        sh(["ip", "netns", "del", n]); // takes its veths (and their peers) and nft tables with it
      } catch {
        // already gone
      }
    }
    made.length = 0;
  };
  const kind = delayKind(`${p}-probe`);
  const ends = Array.from({ length: LINKS }, (_, k) => [`${p}v${k}a`, `${p}v${k}b`] as [string, string]);
  const links: LinkEnds[] = [];
  let k = 0;
  /** A link between namespaces a and b, each end with an address (or on b's bridge): a veth
   * pair, or two taps of the delay line moved from its namespace. */
  const link = (a: string, addrA: string, b: string, addrB: string | "bridge") => {
    const [ea, eb] = ends[k++];
    if (kind === "tap-delay-line") {
      sh(["ip", "-n", `${p}-wire`, "link", "set", ea, "netns", a]);
      sh(["ip", "-n", `${p}-wire`, "link", "set", eb, "netns", b]);
    } else {
      sh(["ip", "link", "add", ea, "netns", a, "type", "veth", "peer", "name", eb, "netns", b]);
    }
    links.push({ a: { ns: a, dev: ea }, b: { ns: b, dev: eb } });
    sh(["ip", "-n", a, "addr", "add", addrA, "dev", ea]);
    if (addrB === "bridge") sh(["ip", "-n", b, "link", "set", eb, "master", "br0"]);
    else sh(["ip", "-n", b, "addr", "add", addrB, "dev", eb]);
    sh(["ip", "-n", a, "link", "set", ea, "up"]);
    sh(["ip", "-n", b, "link", "set", eb, "up"]);
    return { ea, eb };
  };
  try {
    if (kind === "tap-delay-line") delay = await tapDelayLine(ns("wire"), ends, delayMs);
    const pub = ns("pub");
    sh(["ip", "-n", pub, "link", "add", "br0", "type", "bridge"]);
    sh(["ip", "-n", pub, "addr", "add", `${PUBLIC_HOST}/24`, "dev", "br0"]);
    sh(["ip", "-n", pub, "link", "set", "br0", "up"]);
    const client = ns("cli");
    link(client, `${CLIENT_HOST}/24`, pub, "bridge");
    const home = (i: number): Home => {
      const router = ns(`r${i}`);
      const host = ns(`h${i}`);
      const wan = `${PUBLIC_NET}.${10 + i}`;
      const lan = `192.168.${i}.2`;
      const w = link(router, `${wan}/24`, pub, "bridge");
      const l = link(router, `192.168.${i}.1/24`, host, `${lan}/24`);
      sh(["ip", "-n", host, "route", "add", "default", "via", `192.168.${i}.1`]);
      sh(["ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      // a home router: masquerade out, and nothing in that the host did not start
      sh(["ip", "netns", "exec", router, "nft", "-f", "-"], `
table ip nat {
  chain postrouting { type nat hook postrouting priority srcnat; oifname "${w.ea}" masquerade; }
}
table ip filter {
  chain forward { type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "${l.ea}" accept
  }
}
`);
      return { router, wan, host, lan };
    };
    const homes: [Home, Home] = [home(1), home(2)];
    if (kind === "netem") delay = netemDelay(links, delayMs);
    const setDelay = async (ms: number) => {
      if (delay === undefined) throw new Error("links cannot be delayed here: no sch_netem, and no /dev/net/tun or python3 for the delay line");
      await delay.set(ms);
    };
    return { pub, client, homes, delayKind: kind, setDelay, exec: (n) => ["ip", "netns", "exec", n], remove };
  } catch (err) {
    remove();
    throw err;
  }
}

/** The smallest of `count` ping round trips from namespace `ns` to `addr`, in ms. */
export function pingMinMs(ns: string, addr: string, count = 5): number {
  const out = sh(["ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", String(count), "-i", "0.2", "-W", "2", addr]);
  const m = /= ([\d.]+)\/[\d.]+\/[\d.]+\/[\d.]+ ms/.exec(out);
  if (m === null) throw new Error(`ping ${addr} from ${ns}: no round trip in:\n${out}`);
  return Number(m[1]);
}
