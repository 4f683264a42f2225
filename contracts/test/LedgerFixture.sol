// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ITrustLedger} from "../interfaces/ITrustLedger.sol";
import {TrustLedger} from "../TrustLedger.sol";
import {TrustLedgerCourt} from "../TrustLedgerCourt.sol";
import {TrustLedgerRegistry} from "../TrustLedgerRegistry.sol";

/// @notice The parameters and peer keys the Solidity tests use (epochs of 100 s).
library LedgerFixture {
    function params() internal pure returns (ITrustLedger.Params memory) {
        return ITrustLedger.Params({
            minServerStake: 100e18,
            minVerifierStake: 50e18,
            rewardPerEpoch: 1_000e18,
            verifierFee: 1e18,
            theta: 0.9e18,
            maxTokensPerEpoch: 1_000_000,
            minMemoryMiB: 1024,
            minThroughput: 10,
            unbondingDelay: 700,
            slashShareBps: 5000,
            strikeLimit: 3,
            strikeDecayEpochs: 10,
            evidenceWindowEpochs: 2,
            challengeEpochs: 2,
            sizeNeutralWeights: true
        });
    }

    /// @notice A ledger (with its registry and court) governed by `admin`, epochs of 100 s.
    function deploy(IERC20 token, address admin, address treasury, uint16 numLayers) internal returns (TrustLedger) {
        TrustLedgerRegistry registry = new TrustLedgerRegistry(token, admin, treasury, bytes32(0), numLayers, 100, params());
        TrustLedgerCourt court = new TrustLedgerCourt(registry, token, admin, treasury, bytes32(0), numLayers, 100, params());
        return new TrustLedger(registry, court, token, admin, treasury, bytes32(0), numLayers, 100, params());
    }

    /// @notice Private key of peer `i` (0xbeef00 + i).
    function peerKey(uint256 i) internal pure returns (uint256) {
        return 0xbeef00 + i;
    }

    /// @notice The secp256k1 libp2p peer id of {peerKey}(i), i < 5 (computed with ethers).
    function peerId(uint256 i) internal pure returns (bytes memory) {
        if (i == 0) return hex"00250802122102d182676584288dc0a6ba3bf1fe6b1b30f4c8439262450c3ad187b644089d1376";
        if (i == 1) return hex"00250802122102eb553e4d12eede5bc6c6e1496c20c1895e63513ae9d65b49c5506ddab944834b";
        if (i == 2) return hex"00250802122102e94f8ff7cf5f5181a3e2fd244c3c70cdc26ce6854943d4420f4f90624aaee982";
        if (i == 3) return hex"002508021221030b2487775f43f15dbee2671d1db490b5bd0a1e5a0c6edeef257aeb9ca5163f38";
        return hex"00250802122103521c69087ec25fdc32bd1700c559701565b934212b036213cf7b5e4f13f5d2e3";
    }
}
