#!/usr/bin/env -S node --experimental-strip-types --disable-warning=ExperimentalWarning
// efed: one program for every role. This file only parses and dispatches.
import { Command } from "commander";
import { chainCommand } from "./cli/chain.ts";
import { deployCommand } from "./cli/deploy.ts";
import { statusCommand } from "./cli/status.ts";
import { generateCommand } from "./cli/generate.ts";
import { modelCommand } from "./cli/model.ts";
import { reportError } from "./cli/common.ts";

const program = new Command()
  .name("efed")
  .description(
    "eFedLLM: serve slices of a large language model over libp2p, get paid on an EVM chain;\n" +
      "verifiers re-check sampled work and settle trust scores on chain.",
  )
  .version("0.1.0")
  .showHelpAfterError("(run with --help for usage)")
  .addHelpText(
    "after",
    `
Getting started (two terminals):
  $ efed chain                 # embedded local chain on 127.0.0.1:8545
  $ efed deploy                # token + trust ledger, writes deployments/31337.json
  $ efed status                # servers, verifiers, trust scores, coverage

Local text generation (no chain needed):
  $ efed generate --local --model ../shared/models/stories260K-f32.gguf --max-tokens 64

Environment: EFED_RPC (default --rpc), EFED_DEPLOYMENTS (default --deployments),
EFED_DEPLOYER_KEY (deployer key for non-local chains), EFED_DEBUG=1 (stack traces).`,
  );

chainCommand(program);
deployCommand(program);
statusCommand(program);
generateCommand(program);
modelCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.exitCode = reportError(err);
});
