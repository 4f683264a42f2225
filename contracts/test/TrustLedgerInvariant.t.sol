// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EfedToken} from "../EfedToken.sol";
import {TrustLedger} from "../TrustLedger.sol";
import {ITrustLedger} from "../interfaces/ITrustLedger.sol";
import {LedgerHandler} from "./LedgerHandler.sol";
import {CheatCodes} from "./Vm.sol";
import {LedgerFixture} from "./LedgerFixture.sol";

/// @notice Invariants of the ledger's books over random action sequences (see {LedgerHandler}).
contract TrustLedgerInvariantTest is CheatCodes {
    EfedToken internal token;
    TrustLedger internal ledger;
    LedgerHandler internal handler;

    function setUp() public {
        token = new EfedToken(address(this), 1_000_000_000e18);
        ITrustLedger.Params memory p = LedgerFixture.params(2);
        ledger = new TrustLedger(token, address(this), bytes32(0), 5, 100, p);
        handler = new LedgerHandler(token, ledger);
        token.transfer(address(handler), 200_000e18);
        handler.seed();
    }

    /// @dev Only the handler is fuzzed.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @notice The ledger's token balance is exactly its books.
    function invariant_balanceEqualsBooks() public view {
        assertEq(
            token.balanceOf(address(ledger)),
            ledger.totalStaked() + ledger.rewardPool() + ledger.totalReserved() + ledger.totalUnclaimed(),
            "balance == stakes + pool + reserved + unclaimed"
        );
    }

    /// @notice totalStaked is the sum of every record's bonded and unbonding stake.
    function invariant_stakesAddUp() public view {
        address[] memory all = handler.actors();
        uint256 sum;
        for (uint256 i = 0; i < all.length; ++i) {
            ITrustLedger.ServerView memory s = ledger.getServer(all[i]);
            ITrustLedger.VerifierView memory v = ledger.getVerifier(all[i]);
            sum += uint256(s.stake) + s.unbonding + v.stake + v.unbonding;
        }
        assertEq(sum, ledger.totalStaked(), "sum of stakes == totalStaked");
    }

    /// @notice Nobody can be owed more than the ledger holds for rewards.
    function invariant_pendingCovered() public view {
        address[] memory all = handler.actors();
        uint256 sum;
        for (uint256 i = 0; i < all.length; ++i) {
            sum += ledger.pendingRewards(all[i]);
        }
        assertLe(sum, ledger.totalUnclaimed() + ledger.totalReserved(), "pending <= unclaimed + reserved");
    }

    /// @notice Claims never exceed what was funded plus what was slashed into the pool.
    function invariant_claimsBounded() public view {
        assertLe(handler.totalClaimed(), handler.totalFunded() + _slashedBound(), "claims bounded");
    }

    /// @notice Trust scores stay in [0, 1] and active servers are in range.
    function invariant_trustInUnitInterval() public view {
        address[] memory all = handler.actors();
        for (uint256 i = 0; i < 4; ++i) {
            ITrustLedger.ServerView memory s = ledger.getServer(all[i]);
            assertLe(s.trust, 1e18, "S_i <= 1");
            if (s.status == ITrustLedger.ServerStatus.Active) assertTrue(s.start < s.end && s.end <= 5, "range");
        }
    }

    // Everything staked could at most have been slashed into the pool: 4 servers and 4
    // verifiers with at most 10,000 tokens each.
    function _slashedBound() internal pure returns (uint256) {
        return 8 * 10_000e18;
    }
}
