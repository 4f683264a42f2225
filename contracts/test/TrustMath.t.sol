// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TrustMath} from "../libraries/TrustMath.sol";
import {CheatCodes} from "./Vm.sol";

/// @notice Fuzz tests of the trust arithmetic (Eq. 3, Eq. 4, median).
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
        // never above acc_i when w_i <= 1
        assertLe(s, uint256(accBps) * 1e14, "S_i <= acc_i");
    }

    function testFuzz_sizeNeutralWeightGivesAccuracy(uint16 accBps, uint16 layers, uint16 maxLayers) public pure {
        accBps = uint16(accBps % 10_001);
        vm.assume(layers > 0 && maxLayers >= layers);
        uint256 w = TrustMath.sizeNeutralWeight(layers, maxLayers);
        assertEq(TrustMath.trustScore(accBps, layers, maxLayers, w), uint256(accBps) * 1e14, "S_i == acc_i");
    }

    function testFuzz_trustScoreMonotoneInAccuracy(uint16 a, uint16 b, uint16 layers, uint16 maxLayers) public pure {
        a = uint16(a % 10_001);
        b = uint16(b % 10_001);
        vm.assume(layers > 0 && maxLayers >= layers && a <= b);
        assertLe(
            TrustMath.trustScore(a, layers, maxLayers, 1e18), TrustMath.trustScore(b, layers, maxLayers, 1e18), "monotone"
        );
    }

    function testFuzz_medianIsBetweenMinAndMax(uint256[7] memory raw, uint8 n) public pure {
        n = uint8(1 + (n % 7));
        uint256[] memory xs = new uint256[](n);
        uint256 lo = type(uint256).max;
        uint256 hi = 0;
        for (uint256 i = 0; i < n; ++i) {
            xs[i] = raw[i] % 10_001;
            if (xs[i] < lo) lo = xs[i];
            if (xs[i] > hi) hi = xs[i];
        }
        uint256 m = TrustMath.median(xs);
        assertTrue(m >= lo && m <= hi, "median within range");
        for (uint256 i = 1; i < n; ++i) {
            assertTrue(xs[i - 1] <= xs[i], "sorted");
        }
    }

    function test_medianOfOneLiarAmongThree() public pure {
        uint256[] memory xs = new uint256[](3);
        (xs[0], xs[1], xs[2]) = (0, 10_000, 9_990);
        assertEq(TrustMath.median(xs), 9_990, "median");
    }

    function test_thresholdBoundary() public pure {
        assertTrue(TrustMath.isActive(0.9e18, 0.9e18), "S = theta stays active");
        assertTrue(!TrustMath.isActive(0.9e18 - 1, 0.9e18), "S < theta is deactivated");
    }
}
