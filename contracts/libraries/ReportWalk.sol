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

    /// @dev Reports of one batch. `members[i]` packs member i's walk: its stake (bits 64 and up,
    /// < 2^128), the calldata end of its report (bits 32..63) and its cursor, the calldata
    /// position of its next entry (bits 0..31), so a step reads and writes one word.
    /// `scratch` holds 2·n words: the accBps then the tokens reported for one server, each
    /// kept sorted as `value << 128 | stake`.
    struct Walk {
        uint256[] members;
        uint256[] scratch;
    }

    function open(uint256 n) internal pure returns (Walk memory w) {
        w.members = new uint256[](n);
        w.scratch = new uint256[](2 * n);
    }

    /// @dev Member `i` with `stake` (< 2^128) and its report at calldata [offset, offset + length)
    /// (from the ABI decoder, so < 2^32). A member with no report is given length 0.
    function add(Walk memory w, uint256 i, uint256 stake, uint256 offset, uint256 length) internal pure {
        w.members[i] = (stake << 64) | ((offset + length) << 32) | offset;
    }

    /// @notice The stake-weighted (lower) medians of the accBps and tokens reported for `server`
    /// (the smallest value whose cumulative stake reaches half of `reported`), and `reported`,
    /// the stake of the members whose reports mention it. Advances every cursor to `server`.
    /// Every write stays inside `w`'s arrays (k ≤ n values in each half of `scratch`).
    function median(Walk memory w, address server) internal pure returns (uint256 acc, uint256 tokens, uint256 reported) {
        uint256[] memory members = w.members;
        uint256[] memory scratch = w.scratch;
        assembly ("memory-safe") {
            // the value of the first of the ascending keys at v[0..k) whose cumulative stake reaches half of total
            function lowerMedian(v, k, total) -> m {
                let cumulative := 0
                for { let end := add(v, shl(5, k)) } lt(v, end) { v := add(v, 0x20) } {
                    let key := mload(v)
                    cumulative := add(cumulative, and(key, 0xffffffffffffffffffffffffffffffff))
                    if iszero(lt(shl(1, cumulative), total)) {
                        m := shr(128, key)
                        break
                    }
                }
            }
            let va := add(scratch, 0x20)
            let vt := add(va, shl(5, mload(members)))
            let k := 0 // bytes used in each half of scratch: 32 per entry found
            for {
                let p := add(members, 0x20)
                let last := add(p, shl(5, mload(members)))
            } lt(p, last) { p := add(p, 0x20) } {
                let pos := and(mload(p), 0xffffffff)
                // entries before `server` are passed by; a matched entry is passed by too, so the
                // next server's walk usually starts on its own entry
                // `word` is set only on the server's own entry: a report whose entries left are all
                // below it (servers this batch does not settle) does not mention it
                let word := 0
                for { let end := and(shr(32, mload(p)), 0xffffffff) } lt(pos, end) { pos := add(pos, 26) } { // ENTRY_BYTES
                    let entry := calldataload(pos)
                    if iszero(lt(shr(96, entry), server)) {
                        if eq(shr(96, entry), server) { word := entry }
                        break
                    }
                }
                if word { // pos < end here: word is the server's entry (a server is never address 0)
                    pos := add(pos, 26)
                    let stake := shr(64, mload(p))
                    reported := add(reported, stake) // a sum of stakes < 2^128 each
                    // insertion into the sorted keys, written out twice (a Yul function call costs more)
                    let key := and(shr(80, word), 0xffff)
                    if gt(key, 10000) { key := 10000 } // BPS
                    key := or(shl(128, key), stake)
                    let at := add(va, k)
                    for {} and(gt(at, va), gt(mload(sub(at, 0x20)), key)) { at := sub(at, 0x20) } {
                        mstore(at, mload(sub(at, 0x20)))
                    }
                    mstore(at, key)
                    key := or(shl(128, and(shr(48, word), 0xffffffff)), stake)
                    at := add(vt, k)
                    for {} and(gt(at, vt), gt(mload(sub(at, 0x20)), key)) { at := sub(at, 0x20) } {
                        mstore(at, mload(sub(at, 0x20)))
                    }
                    mstore(at, key)
                    k := add(k, 0x20)
                }
                mstore(p, or(and(mload(p), not(0xffffffff)), pos))
            }
            acc := lowerMedian(va, shr(5, k), reported)
            tokens := lowerMedian(vt, shr(5, k), reported)
        }
    }
}
