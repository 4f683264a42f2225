// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TrustMath} from "../libraries/TrustMath.sol";
import {CheatCodes} from "./Vm.sol";

/// @notice Fuzz tests of the trust arithmetic (Eq. 3, Eq. 4, stake-weighted median).
contract TrustMathTest is CheatCodes {
    function testFuzz_trustScoreStaysInUnitInterval(uint16 accBps, uint16 layers, uint16 maxLayers, uint64 weight)
        public
        pure
    {
        accBps = uint16(accBps % 10_001);
        vm.assume(layers > 0 && maxLayers >= layers);
        weight = uint64(weight % (1e18 + 1));
        uint64 s = TrustMath.trustScore(accBps, layers, maxLayers, weight);
        assertLe(s, 1e18, "S_i <= 1");
        assertLe(s, uint256(accBps) * 1e14, "S_i <= acc_i");
    }

    function testFuzz_sizeNeutralWeightGivesAccuracy(uint16 accBps, uint16 layers, uint16 maxLayers) public pure {
        accBps = uint16(accBps % 10_001);
        vm.assume(layers > 0 && maxLayers >= layers);
        uint256 w = TrustMath.sizeNeutralWeight(layers, maxLayers);
        assertEq(TrustMath.trustScore(accBps, layers, maxLayers, w), uint256(accBps) * 1e14, "S_i == acc_i");
    }

    /// @notice The weighted median is a reported value with at least half the weight at or
    /// below it and at least half at or above it.
    function testFuzz_weightedMedianSplitsTheWeight(uint16[7] memory raw, uint64[7] memory rawW, uint8 n) public pure {
        n = uint8(1 + (n % 7));
        uint256[] memory xs = new uint256[](n);
        uint256[] memory ws = new uint256[](n);
        uint256[] memory xs2 = new uint256[](n);
        uint256[] memory ws2 = new uint256[](n);
        uint256 total;
        for (uint256 i = 0; i < n; ++i) {
            xs[i] = xs2[i] = raw[i] % 10_001;
            ws[i] = ws2[i] = 1 + uint256(rawW[i]);
            total += ws[i];
        }
        uint256 m = TrustMath.weightedMedian(xs, ws, n);
        uint256 below;
        uint256 above;
        bool found;
        for (uint256 i = 0; i < n; ++i) {
            if (xs2[i] <= m) below += ws2[i];
            if (xs2[i] >= m) above += ws2[i];
            if (xs2[i] == m) found = true;
        }
        assertTrue(found, "a reported value");
        assertTrue(2 * below >= total && 2 * above >= total, "splits the weight");
    }

    /// @notice Colluders with under half the reporting stake cannot move the median outside
    /// the honest values.
    function testFuzz_minorityCannotMoveMedian(uint16 honest, uint16 liar, uint64 honestW, uint64 liarW) public pure {
        honest = uint16(honest % 10_001);
        liar = uint16(liar % 10_001);
        vm.assume(uint256(liarW) < uint256(honestW));
        uint256[] memory xs = new uint256[](2);
        uint256[] memory ws = new uint256[](2);
        (xs[0], xs[1]) = (liar, honest);
        (ws[0], ws[1]) = (liarW, honestW);
        assertEq(TrustMath.weightedMedian(xs, ws, 2), honest, "honest median");
    }

    function test_thresholdBoundary() public pure {
        assertTrue(TrustMath.isActive(0.9e18, 0.9e18), "S = theta stays active");
        assertTrue(!TrustMath.isActive(0.9e18 - 1, 0.9e18), "S < theta is deactivated");
    }
}
