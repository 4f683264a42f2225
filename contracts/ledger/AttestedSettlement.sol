// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ReportWalk} from "../libraries/ReportWalk.sol";
import {EpochSettlement} from "./EpochSettlement.sol";

/// @title AttestedSettlement
/// @notice The cheap settlement of an epoch: the committee signs the medians it computed
/// itself, and the ledger checks the signatures instead of carrying and walking every report.
/// {EpochSettlement-settleEpoch} stays for everything this path cannot do.
///
/// Every member computes, from every committed report (all of them are opened by the end of
/// e+1: reveals are gossiped), each server's stake-weighted medians exactly as {ReportWalk}
/// does, keeps the servers whose reports carry ≥ 2/3 of the committee stake, and signs
/// `SettlementAttestation(epoch, keccak256(medians), keccak256(resultsHashes))` (EIP-712). A
/// settlement with signatures worth ≥ 2/3 of the committee stake on that digest applies the
/// medians. Soundness is the median's own bound: with colluders under 1/3 of the stake, any
/// ≥ 2/3 of it includes honest members, who sign only the medians they computed from the
/// committed reports, and every honest member computes the same digest (the set of reports
/// is fixed by the commitments and must all be opened), so nobody chooses which reports count.
/// Only in the first half of e+2: after it a report may have been left out, and the set is
/// no longer the commitments'.
abstract contract AttestedSettlement is EpochSettlement {
    bytes32 private constant SETTLEMENT_ATTESTATION_TYPEHASH =
        keccak256("SettlementAttestation(uint64 epoch,bytes32 medians,bytes32 reports)");
    bytes32 private constant EMPTY_RESULTS = keccak256("");

    /// @notice One committee member in {settleAttested}: the keccak256 of its report (0 when it
    /// committed none), its salt (which opens a commitment not yet revealed, so revealing it;
    /// any value otherwise) and its signature of the attestation, or empty.
    struct Attestation {
        address verifier;
        bytes32 resultsHash;
        bytes32 salt;
        bytes sig;
    }

    /// @notice Settles `epoch` from the committee's signed medians. `medians` packs, for each
    /// server reported by ≥ 2/3 of the committee stake, `server (20) ‖ accBps (2) ‖ tokens (4)`
    /// in strictly increasing server order. `members` is the whole committee in strictly
    /// increasing address order. Requires the first half of epoch+2, every committed report
    /// opened, and signatures worth ≥ 2/3 of the committee stake. Servers not settleable or
    /// already settled are skipped with {SettlementSkipped}; the rest are settled as by
    /// {settleEpoch}, and each non-empty report's fee is credited once.
    /// Emits {EpochSettled}, {EpochFunded}, {ServerDeactivated}, {LayersUncovered}.
    function settleAttested(uint64 epoch, bytes calldata medians, Attestation[] calldata members) external virtual {
        uint256 opens = epochEnd(epoch + 1);
        _checkWindow(epoch, opens, opens + epochLength / 2);
        if (medians.length % ReportWalk.ENTRY_BYTES != 0) revert TrustLedgerMalformedResults(medians.length);
        Batch memory b;
        b.epoch = epoch;
        uint256 signed = _countMembers(b, _digest(epoch, medians, members), members);
        _checkCommittee(b);
        // an epoch without a committee has nobody to sign: nothing is settled from no signatures
        if (3 * signed < 2 * b.committee || signed == 0) revert TrustLedgerInsufficientSignatures(signed, b.committee);
        _book(b.fees, 0); // before the epoch's budget is reserved from what is left
        _settleMedians(b, medians);
    }

    /// @dev The EIP-712 digest each member signs: `reports` hashes the members' results hashes
    /// in order (see {settleAttested}).
    function _digest(uint64 epoch, bytes calldata medians, Attestation[] calldata members)
        private
        view
        returns (bytes32)
    {
        bytes32[] memory hashes = new bytes32[](members.length);
        for (uint256 i = 0; i < members.length; ++i) {
            hashes[i] = members[i].resultsHash;
        }
        bytes32 reports = keccak256(abi.encodePacked(hashes));
        return _hashTypedDataV4(keccak256(abi.encode(SETTLEMENT_ATTESTATION_TYPEHASH, epoch, keccak256(medians), reports)));
    }

    /// @dev Counts every member's report into `b` by its hash (see {_openHash}) and returns the
    /// stake of those whose signature of `digest` is given; a signature given must be theirs.
    function _countMembers(Batch memory b, bytes32 digest, Attestation[] calldata members)
        private
        returns (uint256 signed)
    {
        address previous;
        for (uint256 i = 0; i < members.length; ++i) {
            Attestation calldata m = members[i];
            address v = m.verifier;
            if (v <= previous) revert TrustLedgerUnsorted(previous, v);
            previous = v;
            uint256 stake = verifierStakeAt(v, b.epoch);
            if (stake == 0) revert TrustLedgerNotCommitteeMember(v, b.epoch);
            b.committee += stake; // a sum of stakes < 2^128 each
            _openHash(b, v, m.resultsHash, m.salt);
            if (m.sig.length == 0) continue;
            (address signer,,) = ECDSA.tryRecover(digest, m.sig);
            if (signer != v) revert TrustLedgerBadSignature(signer);
            signed += stake;
        }
    }

    /// @dev Applies the signed `medians` to their servers (see {settleAttested}).
    function _settleMedians(Batch memory b, bytes calldata medians) private {
        uint256 count = medians.length / ReportWalk.ENTRY_BYTES;
        bytes memory settled = _records(count);
        uint256 k;
        address previous;
        for (uint256 i = 0; i < count; ++i) {
            uint256 entry;
            assembly ("memory-safe") {
                entry := calldataload(add(medians.offset, mul(i, 26))) // ENTRY_BYTES
            }
            address server = address(uint160(entry >> 96));
            if (server <= previous) revert TrustLedgerUnsorted(previous, server);
            previous = server;
            (uint256 head, uint256 tail) = _settleActive(b, entry);
            if (head == 0) {
                uint256 slotA = _settleable(b.epoch, server);
                if (slotA == 0) continue;
                uint256 acc = uint16(entry >> 80);
                if (acc > ReportWalk.BPS) acc = ReportWalk.BPS; // as the walk counts it
                (head, tail) = _score(b, server, slotA, acc, uint32(entry >> 48));
            }
            _record(settled, k++, head, tail);
        }
        _close(b, settled, k);
    }

    /// @dev The usual case of {_settleable} then {_score} in one pass, for `entry` (a median):
    /// an active server, registered before the epoch, not settled for it yet, that stays active,
    /// with size-neutral weights and an epoch below 2^32 − 1. Returns its record, or head 0 when
    /// it is not that case (nothing written), for the general path to settle or skip it. Same
    /// layouts and arithmetic as {_score}, {_rewardsOf} and {_packSlotA}; about a third of a
    /// server's settlement gas is saved (TrustLedger.attested.test.ts holds the two equal).
    function _settleActive(Batch memory b, uint256 entry) private returns (uint256 head, uint256 tail) {
        if (!b.sizeNeutral) return (0, 0);
        uint256 epoch = b.epoch;
        uint256 theta = b.theta;
        uint256 maxTokens = b.maxTokens;
        uint256 points;
        uint256 credited;
        assembly ("memory-safe") {
            let server := shr(96, entry)
            mstore(0, server)
            mstore(0x20, _servers.slot)
            let slot := keccak256(0, 0x40)
            let slotA := sload(slot)
            let last := and(shr(40, slotA), 0xffffffff) // last settled epoch + 1
            let acc := and(shr(80, entry), 0xffff)
            if gt(acc, 10000) { acc := 10000 } // BPS
            let score := mul(acc, 100000000000000) // S_i = acc · 1e14 (size-neutral Eq. 3)
            // status Active (1), sinceEpoch ≤ epoch, last ≤ epoch, S_i ≥ θ, epoch + 1 fits 32 bits
            if and(
                and(eq(and(slotA, 0xff), 1), iszero(gt(and(shr(72, slotA), 0xffffffff), epoch))),
                and(and(iszero(gt(last, epoch)), iszero(lt(score, theta))), lt(epoch, 0xffffffff))
            ) {
                let tokens := and(shr(48, entry), 0xffffffff)
                if gt(tokens, maxTokens) { tokens := maxTokens }
                let rewards := shr(160, slotA)
                let pending := and(shr(104, slotA), 0xffffffffffffff)
                if pending {
                    // the book of epoch last − 1 (points: low 128 bits, budget: next 120; points ≥ pending)
                    mstore(0, sub(last, 1))
                    mstore(0x20, _books.slot)
                    let book := sload(keccak256(0, 0x40))
                    credited := div(mul(and(shr(128, book), 0xffffffffffffffffffffffffffffff), pending), and(book, 0xffffffffffffffffffffffffffffffff))
                    rewards := add(rewards, credited)
                }
                if lt(rewards, shl(96, 1)) { // else the general path reverts as SafeCast does
                    points := mul(acc, tokens) // (S_i / 1e14) · tokens < 2^46
                    let trust := div(score, 1000000000) // TRUST_UNIT
                    sstore(slot, or(or(or(1, shl(8, trust)), shl(40, add(epoch, 1))), or(and(slotA, shl(72, 0xffffffff)), or(shl(104, points), shl(160, rewards)))))
                    head := or(or(shl(96, server), shl(80, acc)), shl(16, score))
                    tail := or(shl(224, tokens), shl(216, 1))
                }
            }
        }
        if (head == 0) return (0, 0);
        unchecked {
            b.points += points; // < 2^56 per server
            b.credited += credited; // budget shares
        }
    }

    /// @dev Counts member `v`'s report by its hash: a commitment not yet revealed is opened
    /// (`hash`, `salt`) and so revealed, a revealed one must have `hash`, and a member that
    /// committed nothing must give 0. Nothing can have been left out before the middle of e+2.
    function _openHash(Batch memory b, address v, bytes32 hash, bytes32 salt) private {
        uint64 epoch = b.epoch;
        uint256 stored = _report(epoch, v);
        if (stored == 0) {
            if (hash != 0) revert TrustLedgerReportMismatch(v, epoch);
            return;
        }
        if (stored & 1 == 1) {
            if ((uint256(reportCommitment(epoch, v, hash, salt)) & REVEALED_MASK) | 1 != stored) {
                revert TrustLedgerCommitmentMismatch(v, epoch);
            }
            stored = uint256(hash) & REVEALED_MASK; // written with its fee by _counted
        } else if (uint256(hash) & REVEALED_MASK != stored & REVEALED_MASK) {
            revert TrustLedgerReportMismatch(v, epoch);
        }
        _counted(b, v, stored, hash == EMPTY_RESULTS);
    }
}
