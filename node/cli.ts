#!/usr/bin/env -S node --experimental-strip-types --disable-warning=ExperimentalWarning
// efed: one program for every role. This file only parses and dispatches.
import { Command } from "commander";
import { chainCommand } from "./cli/chain.ts";
import { deployCommand } from "./cli/deploy.ts";
import { statusCommand } from "./cli/status.ts";
import { generateCommand } from "./cli/generate.ts";
import { modelCommand } from "./cli/model.ts";
import { walletCommand } from "./cli/wallet.ts";
import { serverCommand } from "./cli/server.ts";
import { stakingCommands } from "./cli/staking.ts";
import { verifierCommand } from "./cli/verifier.ts";
import { demoCommand } from "./cli/demo.ts";
import { analyzeCommand } from "./cli/analyze.ts";
import { apiCommand } from "./cli/api.ts";
import { reportError } from "./cli/common.ts";
import { setThreads } from "./model/onnx/runtime.ts";

const program = new Command()
  .name("efed")
  .description(
    "eFedLLM: serve slices of a large language model over libp2p, get paid on an EVM chain;\n" +
      "verifiers re-check sampled work and settle trust scores on chain.",
  )
  .version("0.1.0")
  .showHelpAfterError("(run with --help for usage)")
  // one rule for exit codes: 2 when the command line itself is wrong (as commander's own
  // parse errors), 1 for anything found while running (see reportError)
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .addHelpText(
    "after",
    `
See it all run (about a minute):
  $ efed demo                  # chain, verifiers, servers, generation, a cheater caught

Getting started (one terminal per long-running command):
  $ efed chain                 # embedded local chain on 127.0.0.1:8545
  $ efed deploy                # token + trust ledger, writes ~/.efed/deployments/31337.json
  $ export EFED_PASSWORD=…     # or answer the prompts
  $ efed wallet new            # a funded wallet (local chain)
  $ efed server --wallet <file> --model <gguf> --layers 0-3      # and more servers…
  $ efed verifier --wallet <file> --model <gguf>                   # three of them for q = 3
  $ efed generate --model <gguf> --prompt "Once upon a time"
  $ efed status                # servers, verifiers, trust scores, coverage
  $ efed claim --wallet <file> # rewards
  $ efed api --model <gguf>    # OpenAI-compatible API on http://127.0.0.1:8080/v1, dashboard at /

Local text generation (no chain needed):
  $ efed generate --local --model ../shared/models/stories260K-f32.gguf --max-tokens 64

Does the paper hold? (its §4 figures recomputed and measured, with a report):
  $ efed analyze --out analysis

Environment: EFED_RPC (default --rpc), EFED_DEPLOYMENTS (default --deployments),
EFED_PASSWORD (wallet password), EFED_HOME (default ~/.efed, where wallets live),
EFED_DEPLOYER_KEY (deployer key for non-local chains), EFED_DEBUG=1 (stack traces),
EFED_API_KEY (efed api's key). Options marked (required) must be given.
Exit status: 0 success, 2 the command line is wrong, 1 anything else.`,
  );

chainCommand(program);
deployCommand(program);
statusCommand(program);
generateCommand(program);
modelCommand(program);
walletCommand(program);
serverCommand(program);
stakingCommands(program);
verifierCommand(program);
demoCommand(program);
analyzeCommand(program);
apiCommand(program);

// --threads (common.ts threadsOption) applies to every session the command opens
program.hook("preAction", (_program, action) => {
  const t: unknown = action.opts().threads;
  if (typeof t === "number") setThreads(t);
});

/** Marks options a command cannot run without, so --help shows them. */
function markRequired(cmd: Command): void {
  for (const o of cmd.options) if (o.mandatory && !o.description.startsWith("(required)")) o.description = `(required) ${o.description}`;
  cmd.commands.forEach(markRequired);
}
markRequired(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.exitCode = reportError(err);
});
