// A small internet made of Linux network namespaces, for the multi-host test: a "public"
// segment (a bridge) with the chain, a relay and the verifiers; two home networks, each a
// router doing NAT (nftables masquerade) in front of one host; a client on the public
// segment. Names carry a per-run prefix, and remove() deletes everything made, also after a
// partial build. Needs root, iproute2 and nftables; `tc netem` is used where the kernel has it.
import { execFileSync } from "node:child_process";

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
  /** Whether every link got its delay (false: the kernel has no sch_netem). */
  readonly netem: boolean;
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
    for (const tool of ["ip", "nft"]) sh(["sh", "-c", `command -v ${tool}`]);
  } catch {
    return "needs iproute2 and nftables (.ci/run installs them)";
  }
  try {
    sh(["ip", "netns", "add", probe]);
    sh(["ip", "netns", "del", probe]);
    return undefined;
  } catch (err) {
    return `cannot create network namespaces here (${(err as Error).message.split("\n")[0]}): needs root`;
  }
}

/** Builds the topology; `delayMs` per link (each direction) where netem exists. */
export function buildInternet(delayMs: number): Internet {
  const p = `ef${(process.pid % 10000).toString(36)}${Math.floor(Math.random() * 36 * 36).toString(36)}`;
  const made: string[] = [];
  const ns = (name: string) => {
    const n = `${p}-${name}`;
    sh(["ip", "netns", "add", n]);
    made.push(n);
    sh(["ip", "-n", n, "link", "set", "lo", "up"]);
    return n;
  };
  const remove = () => {
    for (const n of made.reverse()) {
      try {
        sh(["ip", "netns", "del", n]); // takes its veths (and their peers) and nft tables with it
      } catch {
        // already gone
      }
    }
    made.length = 0;
  };
  let netem = delayMs > 0;
  const delay = (n: string, dev: string) => {
    if (!netem) return;
    try {
      sh(["ip", "netns", "exec", n, "tc", "qdisc", "add", "dev", dev, "root", "netem", "delay", `${delayMs}ms`]);
    } catch {
      netem = false; // no sch_netem in this kernel: say so, measure without
    }
  };
  let k = 0;
  /** A veth pair between namespaces a and b, each end with an address (or on b's bridge). */
  const link = (a: string, addrA: string, b: string, addrB: string | "bridge") => {
    const ea = `${p}v${k}a`;
    const eb = `${p}v${k++}b`;
    sh(["ip", "link", "add", ea, "netns", a, "type", "veth", "peer", "name", eb, "netns", b]);
    sh(["ip", "-n", a, "addr", "add", addrA, "dev", ea]);
    if (addrB === "bridge") sh(["ip", "-n", b, "link", "set", eb, "master", "br0"]);
    else sh(["ip", "-n", b, "addr", "add", addrB, "dev", eb]);
    sh(["ip", "-n", a, "link", "set", ea, "up"]);
    sh(["ip", "-n", b, "link", "set", eb, "up"]);
    delay(a, ea);
    delay(b, eb);
    return { ea, eb };
  };
  try {
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
    return { pub, client, homes, netem, exec: (n) => ["ip", "netns", "exec", n], remove };
  } catch (err) {
    remove();
    throw err;
  }
}
