// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ReportWalk
/// @notice One server's result from the committee's reports, read straight from calldata. A
/// report is packed entries `server (20 bytes) ‖ accBps (2) ‖ tokens (4)`, servers
/// increasing; settlement visits servers in increasing order too, so each report is walked
/// once per batch with a cursor (a merge). A report whose entries are out of order or repeat
/// a server only loses those entries (the walk passes them by), so a reveal is not checked
/// entry by entry (that cost ~130 gas per entry per report); accBps above 10^4 counts as 10^4.
library ReportWalk {
    uint256 internal constant ENTRY_BYTES = 26;
    uint256 internal constant BPS = 10_000;

    /// @dev Reports of one batch: for member i, its stake, the calldata offset and length of its
    /// report, and its cursor; `scratch` holds 4·n words for the sorted values and weights.
    struct Walk {
        uint256[] stakes;
        uint256[] offsets;
        uint256[] lengths;
        uint256[] cursors;
        uint256[] scratch;
    }

    function open(uint256 n) internal pure returns (Walk memory w) {
        w.stakes = new uint256[](n);
        w.offsets = new uint256[](n);
        w.lengths = new uint256[](n);
        w.cursors = new uint256[](n);
        w.scratch = new uint256[](4 * n);
    }

    /// @notice The stake-weighted (lower) medians of the accBps and tokens reported for `server`
    /// (the smallest value whose cumulative stake reaches half of `reported`), and `reported`,
    /// the stake of the members whose reports mention it. Advances every cursor to `server`.
    /// Offsets and lengths come from the ABI decoder (the reports were hashed from them), and
    /// every write stays inside `w`'s arrays: k ≤ n entries of each scratch quarter.
    function median(Walk memory w, address server) internal pure returns (uint256 acc, uint256 tokens, uint256 reported) {
        uint256[] memory cursors = w.cursors;
        uint256[] memory scratch = w.scratch;
        assembly ("memory-safe") {
            // inserts (x, weight) into the ascending values at v[0..k) and their weights at ws
            function insert(v, ws, k, x, weight) {
                let j := k
                for {} and(gt(j, 0), gt(mload(add(v, shl(5, sub(j, 1)))), x)) { j := sub(j, 1) } {
                    mstore(add(v, shl(5, j)), mload(add(v, shl(5, sub(j, 1)))))
                    mstore(add(ws, shl(5, j)), mload(add(ws, shl(5, sub(j, 1)))))
                }
                mstore(add(v, shl(5, j)), x)
                mstore(add(ws, shl(5, j)), weight)
            }
            // the smallest of the ascending v[0..k) whose cumulative weight reaches half of total
            function lowerMedian(v, ws, k, total) -> m {
                let cumulative := 0
                for { let i := 0 } lt(i, k) { i := add(i, 1) } {
                    cumulative := add(cumulative, mload(add(ws, shl(5, i))))
                    if iszero(lt(shl(1, cumulative), total)) {
                        m := mload(add(v, shl(5, i)))
                        break
                    }
                }
            }
            let n := mload(cursors)
            let va := add(scratch, 0x20) // accs, sorted as they arrive; their stakes at va + 32n
            let vt := add(va, shl(6, n)) // tokens, sorted; their stakes at vt + 32n
            let k := 0
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let at := shl(5, add(i, 1))
                let pos := mload(add(cursors, at))
                let off := mload(add(mload(add(w, 0x20)), at)) // offsets[i]
                let len := mload(add(mload(add(w, 0x40)), at)) // lengths[i]
                let word := 0
                for {} lt(pos, len) {} {
                    word := calldataload(add(off, pos))
                    if iszero(lt(shr(96, word), server)) { break }
                    pos := add(pos, 26) // ENTRY_BYTES
                }
                mstore(add(cursors, at), pos)
                if and(lt(pos, len), eq(shr(96, word), server)) {
                    let stake := mload(add(mload(w), at)) // stakes[i]
                    reported := add(reported, stake) // a sum of stakes < 2^128 each
                    let a := and(shr(80, word), 0xffff)
                    if gt(a, 10000) { a := 10000 } // BPS
                    insert(va, add(va, shl(5, n)), k, a, stake)
                    insert(vt, add(vt, shl(5, n)), k, and(shr(48, word), 0xffffffff), stake)
                    k := add(k, 1)
                }
            }
            acc := lowerMedian(va, add(va, shl(5, n)), k, reported)
            tokens := lowerMedian(vt, add(vt, shl(5, n)), k, reported)
        }
    }
}
