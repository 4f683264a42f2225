// `efed demo` (`npm start`): the whole system on this machine in about a minute — a local
// chain, the ledger, three verifiers, three honest servers and one that adds noise; text
// through the swarm, the noisy server caught and slashed, the ledger's status; then every
// process is stopped. Each part is the real command, started as a user would.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Command } from "commander";
import { PROJECT_ROOT } from "../chain/hre.ts";
import { log } from "./common.ts";

const CLI = join(PROJECT_ROOT, "node", "cli.ts");
export const DEMO_MODEL = join(PROJECT_ROOT, "..", "shared", "models", "stories260K-f32.gguf");

interface Proc {
  readonly child: ChildProcess;
  output: string;
}

export function demoCommand(program: Command): void {
  program
    .command("demo")
    .description("run the whole system on this machine for a minute: chain, verifiers, servers, generation, a cheater caught")
    .option("--model <file>", "model to serve", DEMO_MODEL)
    .option("--dir <dir>", "where the demo keeps wallets, deployments and logs (default: a new temporary directory)")
    .action(async (o: { model: string; dir?: string }) => {
      if (!existsSync(o.model)) throw new Error(`the demo needs a model: ${o.model} is missing (pass --model <file>)`);
      const dir = o.dir ?? mkdtempSync(join(tmpdir(), "efed-demo-"));
      const env = { ...process.env, EFED_HOME: dir, EFED_DEPLOYMENTS: join(dir, "deployments"), EFED_PASSWORD: randomBytes(12).toString("hex") } as Record<string, string>;
      const procs: Proc[] = [];
      const start = (name: string, args: string[], ready: RegExp, timeoutMs = 120_000) =>
        new Promise<Proc>((resolve, reject) => {
          const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
          const p: Proc = { child, output: "" };
          procs.push(p);
          const file = createWriteStream(join(dir, `${name}.log`));
          const timer = setTimeout(() => reject(new Error(`${name} did not start in time; see ${join(dir, `${name}.log`)}`)), timeoutMs);
          const onData = (d: Buffer) => {
            p.output += d;
            file.write(d);
            if (ready.test(p.output)) {
              clearTimeout(timer);
              resolve(p);
            }
          };
          child.stdout!.on("data", onData);
          child.stderr!.on("data", onData);
          child.once("close", (code) => {
            clearTimeout(timer);
            reject(new Error(`${name} exited (${code}); see ${join(dir, `${name}.log`)}`));
          });
        });
      const run = (args: string[]) =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
          let out = "";
          let err = "";
          child.stdout.on("data", (d) => (out += d));
          child.stderr.on("data", (d) => (err += d));
          child.once("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`efed ${args[0]}: ${err.trim().split("\n").at(-1)}`))));
        });
      const stopAll = async () => {
        await Promise.all(
          procs.map(
            (p) =>
              new Promise<void>((resolve) => {
                if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
                p.child.once("close", () => resolve());
                p.child.kill("SIGTERM");
                setTimeout(() => p.child.kill("SIGKILL"), 8000).unref();
              }),
          ),
        );
      };
      process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));
      try {
        log(`demo files and logs: ${dir}`);
        log("1/7 starting the local chain…");
        const chain = await start("chain", ["chain", "--port", "0"], /listening on (http:\/\/127\.0\.0\.1:\d+)/);
        env.EFED_RPC = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(chain.output)![1];
        log(`2/7 deploying the ledger for ${o.model}…`);
        await run(["deploy", "--model", o.model]);
        log("3/7 creating and funding 7 wallets…");
        for (let i = 0; i < 7; i++) await run(["wallet", "new"]);
        const wallets = readdirSync(join(dir, "wallets")).filter((f) => f.endsWith(".json")).map((f) => join(dir, "wallets", f));
        log("4/7 starting 3 verifiers…");
        const v0 = await start("verifier-1", ["verifier", "--wallet", wallets[0], "--model", o.model], /verifier ready/);
        const boot = /listening on (\S+)/.exec(v0.output)![1];
        await Promise.all([1, 2].map((i) => start(`verifier-${i + 1}`, ["verifier", "--wallet", wallets[i], "--model", o.model, "--bootstrap", boot], /verifier ready/)));
        log("5/7 starting servers for layers 0-2, 2-4, 4-5, and a second 2-4 server that adds noise…");
        await Promise.all([
          start("server-0-2", ["server", "--wallet", wallets[3], "--model", o.model, "--layers", "0-2"], /server ready/),
          start("server-2-4", ["server", "--wallet", wallets[4], "--model", o.model, "--layers", "2-4"], /server ready/),
          start("server-4-5", ["server", "--wallet", wallets[5], "--model", o.model, "--layers", "4-5"], /server ready/),
          start("server-2-4-noisy", ["server", "--wallet", wallets[6], "--model", o.model, "--layers", "2-4", "--fault", "noise:0.05"], /server ready/),
        ]);
        log("6/7 generating through the swarm:\n");
        process.stdout.write((await run(["generate", "--model", o.model, "--prompt", "Once upon a time", "--max-tokens", "80"])) + "\n");
        log("7/7 waiting for the verifiers' audits to catch the noisy server (an epoch or two)…");
        const noisy = procs.at(-1)!;
        const deadline = Date.now() + 90_000;
        const caught = /taken off routes|slashed on evidence|deactivated by the verifiers/;
        while (!caught.test(noisy.output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
        log(caught.test(noisy.output) ? "an audit caught the noisy server: it is off routes on co-signed evidence, and half its stake is slashed when the challenge window closes:\n" : "the noisy server was not caught in time (see the verifier logs):\n");
        let status = await run(["status"]);
        if (caught.test(noisy.output)) {
          log("waiting for the challenge window to close and the slash to execute…");
          const until = Date.now() + 90_000;
          while (!/ slashed +layers/.test(status) && Date.now() < until) {
            await new Promise((r) => setTimeout(r, 3000));
            status = await run(["status"]);
          }
        }
        process.stdout.write(status + "\n");
        log(`\ndone. Logs: ${dir}. Next: \`efed --help\`, and the README's step-by-step swarm.`);
      } finally {
        await stopAll();
      }
    });
}
