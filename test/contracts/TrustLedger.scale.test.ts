// 10,000 servers on the in-process chain: registration in bulk (each with its own peer-key
// proof), then a Client reads the active set page by page and routes over it.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getCreateAddress, keccak256, parseEther, toBeHex, ZeroHash } from "ethers";
import type { Contract } from "ethers";
import { readCandidates } from "../../node/chain/registry.ts";
import { chooseRoute } from "../../node/client/route.ts";
import { peerIdOfKey, signPeerBinding } from "../../node/chain/peer-binding.ts";
import { ledgerDomain } from "../../node/chain/domain.ts";
import { connect, defaultParams, deployLedger, EPOCH, LAYERS } from "../helpers/ledger.ts";

const SERVERS = Number(process.env.EFED_SCALE_SERVERS ?? 10_000);
const PER_TX = 25;

describe("TrustLedger at scale", () => {
  it(`registers ${SERVERS} servers; a client reads the active set in pages and routes`, { timeout: 300_000 }, async () => {
    const { ethers } = await connect();
    const [admin, treasury] = await ethers.getSigners();
    const token: Contract = await ethers.deployContract("EfedToken", [admin.address, parseEther("1000000000")]);
    const ledger: Contract = await deployLedger(ethers, [token.target, admin.address, treasury.address, ZeroHash, LAYERS, EPOCH, defaultParams()]);
    const registrar: Contract = await ethers.deployContract("BulkRegistrar", [ledger.target, token.target]);
    await token.transfer(registrar.target, parseEther("100") * BigInt(SERVERS));
    const domain = ledgerDomain(BigInt((await ethers.provider.getNetwork()).chainId), ledger.target as string);

    const started = Date.now();
    for (let first = 0; first < SERVERS; first += PER_TX) {
      const n = Math.min(PER_TX, SERVERS - first);
      const starts: number[] = [];
      const ends: number[] = [];
      const ids: Uint8Array[] = [];
      const proofs: string[] = [];
      for (let k = first; k < first + n; k++) {
        const key = Buffer.from(keccak256(toBeHex(k + 1, 32)).slice(2), "hex");
        const server = getCreateAddress({ from: registrar.target as string, nonce: k + 1 });
        const start = k % LAYERS;
        starts.push(start);
        ends.push(start + 1);
        ids.push(peerIdOfKey(key));
        proofs.push(signPeerBinding(key, domain, server));
      }
      await (await registrar.register(parseEther("100"), starts, ends, ids, proofs, { gasLimit: 16_000_000 })).wait();
    }
    const registeredMs = Date.now() - started;
    assert.equal(await ledger.activeServerCount(), BigInt(SERVERS));
    assert.deepEqual([...(await ledger.coverage())].map(Number), Array(LAYERS).fill(SERVERS / LAYERS));

    const readStarted = Date.now();
    const candidates = await readCandidates(ledger);
    const readMs = Date.now() - readStarted;
    assert.equal(candidates.length, SERVERS);
    assert.ok(candidates.every((c) => c.signer !== undefined && c.end - c.start === 1));
    const route = chooseRoute(candidates, LAYERS);
    assert.deepEqual(route.map((h) => [h.start, h.end]), [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]]);
    // one page costs about the same whatever the total: well under an eth_call gas cap
    const gas = await ethers.provider.estimateGas({ to: ledger.target, data: ledger.interface.encodeFunctionData("activeServersPage", [SERVERS - 200, 200]) });
    assert.ok(gas < 30_000_000n, `a page of 200 costs ${gas} gas`);
    console.error(`registered ${SERVERS} servers in ${registeredMs} ms; read them in ${readMs} ms; a page of 200 costs ${gas} gas`);
  });
});
