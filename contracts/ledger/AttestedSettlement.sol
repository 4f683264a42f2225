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
        if (3 * signed < 2 * b.committee) revert TrustLedgerInsufficientSignatures(signed, b.committee);
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
            uint256 slotA = _settleable(b.epoch, server);
            if (slotA == 0) continue;
            uint256 acc = uint16(entry >> 80);
            if (acc > ReportWalk.BPS) acc = ReportWalk.BPS; // as the walk counts it
            (uint256 head, uint256 tail) = _score(b, server, slotA, acc, uint32(entry >> 48));
            _record(settled, k++, head, tail);
        }
        _close(b, settled, k);
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
