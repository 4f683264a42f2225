// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title TrustMath
/// @notice The paper's trust arithmetic (§3.2) in 1e18 fixed point, as pure functions.
library TrustMath {
    uint256 internal constant ONE = 1e18;
    uint256 internal constant BPS = 10_000;

    /// @notice Eq. 3: S_i = acc_i · l_i / max(l) · w_i, clamped to [0, 1].
    /// @param accBps acc_i in basis points (10_000 = 1.0).
    /// @param layers l_i, the number of layers the server holds.
    /// @param maxLayers max(l); callers pass at least `layers`.
    /// @param weight w_i in 1e18 fixed point.
    /// @return score S_i in 1e18 fixed point, rounded down.
    function trustScore(uint256 accBps, uint256 layers, uint256 maxLayers, uint256 weight)
        internal
        pure
        returns (uint64 score)
    {
        // acc·l·w / (BPS·max(l)), with one rounding at the end.
        uint256 s = Math.mulDiv(accBps * layers, weight, BPS * maxLayers);
        return uint64(Math.min(s, ONE));
    }

    /// @notice The weight that cancels the size term of Eq. 3 (w_i = max(l)/l_i), rounded
    /// up so that `trustScore(acc, l, max, sizeNeutralWeight(l, max)) == acc` exactly.
    function sizeNeutralWeight(uint256 layers, uint256 maxLayers) internal pure returns (uint256) {
        return Math.ceilDiv(maxLayers * ONE, layers);
    }

    /// @notice Eq. 4: a server stays active iff S_i ≥ θ.
    function isActive(uint64 score, uint64 theta) internal pure returns (bool) {
        return score >= theta;
    }

    /// @notice Stake-weighted (lower) median of values[0..n): the smallest value whose
    /// cumulative weight reaches half the total. Sorts both arrays in place.
    function weightedMedian(uint256[] memory values, uint256[] memory weights, uint256 n)
        internal
        pure
        returns (uint256 median)
    {
        // Insertion sort by value: n is at most the committee size. Callers pass n ≤ both
        // lengths and weights that sum below 2^255 (stakes), so nothing here overflows.
        assembly ("memory-safe") {
            let v := add(values, 0x20)
            let w := add(weights, 0x20)
            let total := 0
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let x := mload(add(v, shl(5, i)))
                let xw := mload(add(w, shl(5, i)))
                total := add(total, xw)
                let j := i
                for {} and(gt(j, 0), gt(mload(add(v, shl(5, sub(j, 1)))), x)) { j := sub(j, 1) } {
                    mstore(add(v, shl(5, j)), mload(add(v, shl(5, sub(j, 1)))))
                    mstore(add(w, shl(5, j)), mload(add(w, shl(5, sub(j, 1)))))
                }
                mstore(add(v, shl(5, j)), x)
                mstore(add(w, shl(5, j)), xw)
            }
            let cumulative := 0
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                cumulative := add(cumulative, mload(add(w, shl(5, i))))
                if iszero(lt(shl(1, cumulative), total)) {
                    median := mload(add(v, shl(5, i)))
                    break
                }
            }
        }
    }
}
