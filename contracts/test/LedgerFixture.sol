// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ITrustLedger} from "../interfaces/ITrustLedger.sol";

/// @notice The parameters the Solidity tests deploy the ledger with.
library LedgerFixture {
    function params(uint16 strikeLimit) internal pure returns (ITrustLedger.Params memory) {
        return ITrustLedger.Params({
            minServerStake: 100e18,
            minVerifierStake: 50e18,
            rewardPerEpoch: 1_000e18,
            verifierFee: 1e18,
            theta: 0.9e18,
            minMemoryMiB: 1024,
            minThroughput: 10,
            unbondingDelay: 200,
            quorum: 3,
            slashShareBps: 5000,
            deviationBps: 500,
            strikeLimit: strikeLimit,
            sizeNeutralWeights: true
        });
    }
}
