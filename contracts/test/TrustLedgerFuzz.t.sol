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
        ledger = LedgerFixture.deploy(token, address(this), address(0x7ea5), 12);
        token.transfer(SERVER, 1_000_000e18);
        vm.prank(SERVER);
        token.approve(address(ledger), type(uint256).max);
    }

    function _proof() internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(LedgerFixture.peerKey(0), ledger.peerBindingDigest(SERVER));
        return abi.encodePacked(r, s, v);
    }

    /// @dev The proof is made first: vm.expectRevert applies to the next call, the registration.
    function _register(uint256 stake, uint16 start, uint16 end, bytes memory proof) internal {
        vm.prank(SERVER);
        ledger.registerServer(
            stake, start, end, LedgerFixture.peerId(0), new string[](0), ITrustLedger.Hardware(4096, 100), proof
        );
    }

    function testFuzz_layerRangeAcceptedIffInsideModel(uint16 start, uint16 end) public {
        bytes memory proof = _proof();
        if (start < end && end <= 12) {
            _register(100e18, start, end, proof);
            ITrustLedger.ServerView memory s = ledger.getServer(SERVER);
            assertEq(s.end - s.start, end - start, "layers");
            assertEq(ledger.maxLayersAt(ledger.currentEpoch() + 1), end - start, "max(l)");
        } else {
            vm.expectRevert(abi.encodeWithSelector(ITrustLedger.TrustLedgerInvalidLayerRange.selector, start, end, 12));
            _register(100e18, start, end, proof);
        }
    }

    function testFuzz_stakeAcceptedIffAtLeastMinimum(uint96 stake) public {
        bytes memory proof = _proof();
        uint256 amount = uint256(stake) % 1_000_000e18;
        if (amount >= 100e18) {
            _register(amount, 0, 1, proof);
            assertEq(ledger.totalStaked(), amount, "staked");
        } else {
            vm.expectRevert(
                abi.encodeWithSelector(ITrustLedger.TrustLedgerInsufficientStake.selector, SERVER, amount, 100e18)
            );
            _register(amount, 0, 1, proof);
        }
    }

    /// @notice Governance: a slash share is accepted iff within [1%, 50%].
    function testFuzz_slashShareWithinFloorAndCap(uint16 bps) public {
        bps = uint16(bps % 10_001);
        ITrustLedger.Params memory p = LedgerFixture.params();
        p.slashShareBps = bps;
        p.minVerifierStake = 100e18; // ≥ minServerStake · share for every share ≤ 100%
        if (bps >= 100 && bps <= 5000) {
            ledger.scheduleParams(p);
            assertEq(ledger.paramsAt(ledger.currentEpoch() + 3).slashShareBps, bps, "scheduled");
        } else {
            vm.expectRevert(
                abi.encodeWithSelector(ITrustLedger.TrustLedgerInvalidParams.selector, "slashShareBps", bps, 100, 5000)
            );
            ledger.scheduleParams(p);
        }
    }

    /// @notice Governance: the unbonding delay is accepted iff between its evidence floor and 60 days.
    function testFuzz_unbondingDelayWithinFloorAndCap(uint32 delay) public {
        ITrustLedger.Params memory p = LedgerFixture.params();
        p.unbondingDelay = delay;
        if (delay >= 700 && delay <= 60 days) {
            ledger.scheduleParams(p);
        } else {
            vm.expectRevert(
                abi.encodeWithSelector(ITrustLedger.TrustLedgerInvalidParams.selector, "unbondingDelay", delay, 700, 60 days)
            );
            ledger.scheduleParams(p);
        }
    }

    /// @notice Malformed report bytes are refused at reveal (so settlement can trust them).
    function testFuzz_malformedResultsRefused(bytes calldata junk) public {
        vm.assume(junk.length % 26 != 0);
        address v = vm.addr(0xa11ce);
        token.transfer(v, 100e18);
        vm.startPrank(v);
        token.approve(address(ledger), type(uint256).max);
        ledger.registerVerifier(50e18, hex"01", new string[](0));
        vm.warp(block.timestamp + 200); // epoch 2: commit window of epoch 1
        bytes32 salt = bytes32(uint256(1));
        ledger.commitReport(1, ledger.reportCommitment(1, v, keccak256(junk), salt));
        vm.warp(block.timestamp + 50);
        vm.expectRevert(abi.encodeWithSelector(ITrustLedger.TrustLedgerMalformedResults.selector, junk.length));
        ledger.revealReport(1, junk, salt);
        vm.stopPrank();
    }
}
