// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EfedToken} from "../EfedToken.sol";
import {TrustLedger} from "../TrustLedger.sol";
import {ITrustLedger} from "../interfaces/ITrustLedger.sol";
import {CheatCodes} from "./Vm.sol";
import {LedgerFixture} from "./LedgerFixture.sol";

/// @notice Fuzz tests of single ledger operations over their whole input range.
contract TrustLedgerFuzzTest is CheatCodes {
    EfedToken internal token;
    TrustLedger internal ledger;
    address internal constant SERVER = address(0x5e1);

    function setUp() public {
        token = new EfedToken(address(this), 1_000_000_000e18);
        ITrustLedger.Params memory p = LedgerFixture.params(3);
        ledger = new TrustLedger(token, address(this), bytes32(0), 12, 100, p);
        token.transfer(SERVER, 1_000_000e18);
        vm.prank(SERVER);
        token.approve(address(ledger), type(uint256).max);
    }

    function _register(uint256 stake, uint16 start, uint16 end) internal {
        vm.prank(SERVER);
        ledger.registerServer(stake, start, end, hex"0024aa", new string[](0), ITrustLedger.Hardware(4096, 100));
    }

    function testFuzz_layerRangeAcceptedIffInsideModel(uint16 start, uint16 end) public {
        if (start < end && end <= 12) {
            _register(100e18, start, end);
            ITrustLedger.ServerView memory s = ledger.getServer(SERVER);
            assertEq(s.end - s.start, end - start, "layers");
            assertEq(ledger.maxActiveLayers(), end - start, "max(l)");
        } else {
            vm.expectRevert(abi.encodeWithSelector(ITrustLedger.TrustLedgerInvalidLayerRange.selector, start, end, 12));
            _register(100e18, start, end);
        }
    }

    function testFuzz_stakeAcceptedIffAtLeastMinimum(uint96 stake) public {
        uint256 amount = uint256(stake) % 1_000_000e18;
        if (amount >= 100e18) {
            _register(amount, 0, 1);
            assertEq(ledger.totalStaked(), amount, "staked");
            assertEq(token.balanceOf(address(ledger)), ledger.rewardPool() + amount, "pulled");
        } else {
            vm.expectRevert(
                abi.encodeWithSelector(ITrustLedger.TrustLedgerInsufficientStake.selector, SERVER, amount, 100e18)
            );
            _register(amount, 0, 1);
        }
    }

    function testFuzz_unbondKeepsMinimumOrExits(uint96 extra, uint96 amount) public {
        uint256 stake = 100e18 + (uint256(extra) % 1_000e18);
        _register(stake, 0, 1);
        uint256 x = 1 + (uint256(amount) % stake);
        uint256 remaining = stake - x;
        if (remaining != 0 && remaining < 100e18) {
            vm.expectRevert(
                abi.encodeWithSelector(ITrustLedger.TrustLedgerInsufficientStake.selector, SERVER, remaining, 100e18)
            );
        }
        vm.prank(SERVER);
        ledger.requestUnbond(x);
        if (remaining == 0 || remaining >= 100e18) {
            ITrustLedger.ServerView memory s = ledger.getServer(SERVER);
            assertEq(uint256(s.stake) + s.unbonding, stake, "stake conserved");
            assertTrue((s.status == ITrustLedger.ServerStatus.Exiting) == (remaining == 0), "exits iff all unbonded");
        }
    }

    function testFuzz_withdrawNeverBeforeDelay(uint32 wait) public {
        _register(100e18, 0, 1);
        vm.prank(SERVER);
        ledger.requestUnbond(100e18);
        uint256 readyAt = ledger.epochEnd(ledger.currentEpoch()) + 200;
        uint256 t = block.timestamp + (uint256(wait) % 1_000);
        vm.warp(t);
        if (t < readyAt) {
            vm.expectRevert(
                abi.encodeWithSelector(ITrustLedger.TrustLedgerUnbondingNotReady.selector, SERVER, readyAt)
            );
        }
        vm.prank(SERVER);
        ledger.withdraw();
    }
}
