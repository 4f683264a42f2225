// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EfedToken} from "../EfedToken.sol";
import {TrustLedger} from "../TrustLedger.sol";
import {ITrustLedger} from "../interfaces/ITrustLedger.sol";
import {LedgerHandler} from "./LedgerHandler.sol";
import {CheatCodes} from "./Vm.sol";
import {LedgerFixture} from "./LedgerFixture.sol";

/// @notice Invariants of the ledger's books over random action sequences (see {LedgerHandler});
/// run with failOnRevert, so a revert anywhere on the report and settlement path fails.
contract TrustLedgerInvariantTest is CheatCodes {
    address internal constant TREASURY = address(0x7ea5);
    EfedToken internal token;
    TrustLedger internal ledger;
    LedgerHandler internal handler;

    function setUp() public {
        token = new EfedToken(address(this), 1_000_000_000e18);
        ledger = LedgerFixture.deploy(token, address(this), TREASURY, 5);
        handler = new LedgerHandler(token, ledger);
        token.transfer(address(handler), 200_000e18);
        handler.seed();
    }

    /// @notice The handler's report path settles servers (so the invariant runs exercise it).
    function test_handlerPathSettles() public {
        for (uint8 i = 0; i < 4; ++i) {
            handler.registerServer(i, i, 0, 0);
            handler.registerVerifier(i, 0);
        }
        vm.warp(ledger.genesis() + 200); // epoch 2: commit window of epoch 1
        for (uint8 i = 0; i < 4; ++i) handler.commit(i, 10_000, 1000);
        vm.warp(ledger.genesis() + 250);
        for (uint8 i = 0; i < 4; ++i) handler.reveal(i);
        vm.warp(ledger.genesis() + 300);
        handler.settle(0x0f);
        assertEq(handler.settlements(), 1, "settled");
        assertTrue(ledger.settled(1, handler.servers(0)), "server 0 settled for epoch 1");
        assertEq(ledger.getServer(handler.servers(0)).trust, 1e18, "S_0 = 1");
        // epoch 2's reports, committed now (epoch 3) and settled from the committee's signed
        // medians an epoch later
        handler.attest(0x07, 9_000, 500); // 3 of 4 equal stakes sign: ≥ 2/3
        assertEq(ledger.currentEpoch(), 4, "in epoch 4");
        assertEq(handler.attested(), 1, "settled from signed medians");
        assertTrue(ledger.settled(2, handler.servers(0)), "server 0 settled for epoch 2");
        assertTrue(ledger.getServer(handler.servers(0)).trust < 1e18, "its signed median (0.9) applied");
        uint256 treasury = token.balanceOf(TREASURY);
        handler.equivocate(0, 7);
        assertTrue(ledger.getServer(handler.servers(0)).status == ITrustLedger.ServerStatus.Slashed, "slashed");
        assertEq(ledger.getServer(handler.servers(0)).stake, 50e18, "half the stake slashed");
        // the half, and the rewards of its two settled epochs, forfeited
        assertTrue(token.balanceOf(TREASURY) - treasury > 50e18, "slash and rewards to the treasury");
    }

    /// @dev Only the handler is fuzzed.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @notice The ledger's token balance is exactly its books (slashes leave to the treasury).
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

    /// @notice The next committee's stake is the verifiers' bonded stake.
    function invariant_committeeStakeIsBondedVerifierStake() public view {
        address[] memory all = handler.actors();
        uint256 sum;
        for (uint256 i = 4; i < all.length; ++i) sum += ledger.getVerifier(all[i]).stake;
        assertEq(ledger.committeeStake(ledger.currentEpoch() + 1), sum, "committee stake");
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

    /// @notice Claims never exceed what was funded (slashed stake goes to the treasury, not the pool).
    function invariant_claimsBounded() public view {
        assertLe(handler.totalClaimed(), handler.totalFunded(), "claims bounded by funding");
    }

    /// @notice Trust scores stay in [0, 1] and ranges inside the model.
    function invariant_trustInUnitInterval() public view {
        address[] memory all = handler.actors();
        for (uint256 i = 0; i < 4; ++i) {
            ITrustLedger.ServerView memory s = ledger.getServer(all[i]);
            assertLe(s.trust, 1e18, "S_i <= 1");
            if (s.status == ITrustLedger.ServerStatus.Active) assertTrue(s.start < s.end && s.end <= 5, "range");
        }
    }
}
