// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {TrustMath} from "../libraries/TrustMath.sol";
import {ReportWalk} from "../libraries/ReportWalk.sol";
import {Rewards} from "./Rewards.sol";

/// @title EpochSettlement
/// @notice One report per committee member per epoch, committed then revealed, and the
/// settlement of every server from all of them. Timeline for epoch e (length L, E1 = end(e),
/// E2 = end(e + 1)): commit in [E1, E1 + L/2), each member by its own transaction or, signed
/// (EIP-712 `ReportCommitment`), in one batch anyone submits; reveal from E1 + L/2, off chain
/// (a settlement carries the reports and salts and checks them against the commitments) or
/// on chain until E2 + L/2; settle during epoch e+2 = [E2, E3). Until E2 + L/2 a settlement
/// must carry every committed report; after it, a member that revealed neither way may be
/// left out: it can then no longer reveal and is struck ({penalizeUnrevealed}). So nobody
/// chooses which reports count, and in the usual case the committee pays one commit batch and
/// one settlement per epoch. A report is packed entries `server (20 bytes) ‖ accBps (2) ‖
/// tokens (4)` in strictly increasing server order. Each server's accuracy and tokens are the
/// stake-weighted medians of the reports that mention it, which must carry ≥ 2/3 of the
/// committee stake; the verifier fee of each non-empty report is credited when it first counts.
abstract contract EpochSettlement is Rewards {
    using ReportWalk for ReportWalk.Walk;

    uint256 private constant SETTLED_BYTES = 35; // one server in the EpochSettled event
    uint256 private constant DATA_MASK = (1 << 192) - 1;
    uint256 internal constant REVEALED_MASK = DATA_MASK - 3;
    uint256 private constant FEE_PAID = 2;
    uint256 private constant LEFT_OUT = 2; // on a commitment: settled without it, it can no longer reveal
    bytes32 private constant REPORT_COMMITMENT_TYPEHASH = keccak256("ReportCommitment(uint64 epoch,bytes32 commitment)");

    // One slot per verifier and epoch mod 4, reused every 4 epochs (a fresh slot per report
    // would cost 17k gas more): the top 64 bits tag the epoch (epoch + 1), the low 192 bits
    // hold the report: 0 nothing; low bit 1: the commitment's bits 2..191, with bit 1 set once
    // a settlement left it out; low bit 0: the revealed results hash's bits 2..191, with bit 1
    // set once its fee is credited. A report on e is written in e+1, read in e+2, and its slot
    // reused by e+4 (written in e+5): penalties for e are possible until then.
    mapping(address verifier => uint256[4]) private _reports;

    /// @dev Settlement state shared by one `settleEpoch` call.
    struct Batch {
        uint64 epoch;
        uint64 theta;
        uint32 maxTokens;
        bool sizeNeutral;
        bool mayLeaveOut; // a committed report not given may be left out (second half of epoch+2)
        uint16 maxLayers;
        uint256 committee; // the committee's stake
        uint256 fees; // verifier fees credited by this batch
        ReportWalk.Walk walk; // the members' reports, read from calldata
        uint256 points;
        uint256 credited;
    }

    /// @notice Commits the caller's report on `epoch`: `commitment` = keccak256(abi.encode(epoch,
    /// verifier, keccak256(results), salt)). Requires a member of `epoch`'s committee and the
    /// commit window (first half of epoch+1); may be overwritten within it. Emits {ReportCommitted}.
    function commitReport(uint64 epoch, bytes32 commitment) external virtual {
        _checkCommitWindow(epoch);
        if (verifierStakeAt(msg.sender, epoch) == 0) revert TrustLedgerNotCommitteeMember(msg.sender, epoch);
        _commit(epoch, msg.sender, commitment);
    }

    /// @notice Commits, for each of `verifiers`, its `commitments[i]` on `epoch`, signed by it
    /// (EIP-712 `ReportCommitment(uint64 epoch,bytes32 commitment)`): one transaction for the
    /// whole committee. Anyone may submit it in the commit window. A verifier already committed
    /// on `epoch` or whose signature does not recover to it is skipped, so an old signature
    /// cannot replace a newer commitment and one bad entry does not sink the batch; membership
    /// is checked when the report is counted. Emits {ReportCommitted} for each one committed.
    function commitReports(
        uint64 epoch,
        address[] calldata verifiers,
        bytes32[] calldata commitments,
        bytes[] calldata sigs
    ) external virtual {
        _checkCommitWindow(epoch);
        uint256 n = verifiers.length;
        if (commitments.length != n) revert TrustLedgerLengthMismatch(n, commitments.length);
        if (sigs.length != n) revert TrustLedgerLengthMismatch(n, sigs.length);
        for (uint256 i = 0; i < n; ++i) {
            address v = verifiers[i];
            if (_report(epoch, v) != 0) continue;
            bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(REPORT_COMMITMENT_TYPEHASH, epoch, commitments[i])));
            (address signer,,) = ECDSA.tryRecover(digest, sigs[i]);
            if (signer != v || v == address(0)) continue;
            _commit(epoch, v, commitments[i]);
        }
    }

    /// @notice Reveals the caller's committed report on `epoch` on chain: needed only when no
    /// settlement carried it by the middle of epoch+2. Requires the reveal window (from the
    /// middle of epoch+1 to the middle of epoch+2), a matching commitment not left out by a
    /// settlement, and well-formed results. Only its hash is stored; settlement passes the text
    /// again. Emits {ReportRevealed}.
    function revealReport(uint64 epoch, bytes calldata results, bytes32 salt) external virtual {
        uint256 end = epochEnd(epoch);
        _checkWindow(epoch, end + epochLength / 2, end + epochLength + epochLength / 2);
        uint256 stored = _report(epoch, msg.sender);
        if (stored == 0 || (stored & 3) == (1 | LEFT_OUT)) revert TrustLedgerNotCommitted(msg.sender, epoch);
        if (stored & 1 == 0) revert TrustLedgerAlreadyRevealed(msg.sender, epoch);
        uint256 revealed = _open(epoch, msg.sender, stored, results, salt);
        _setReport(epoch, msg.sender, revealed);
        emit ReportRevealed(epoch, msg.sender, results);
    }

    /// @notice Strikes each of `verifiers` that committed a report on `epoch` as a member of its
    /// committee and never revealed it (others are skipped). Anyone, once the reveal window has
    /// closed (middle of epoch+2) and before the report's slot is reused (epoch + 5).
    /// Emits {ReportNotRevealed}, {VerifierStruck} (and {VerifierSlashed}).
    function penalizeUnrevealed(uint64 epoch, address[] calldata verifiers) external virtual nonReentrant {
        uint256 closes = epochEnd(epoch) + epochLength + epochLength / 2;
        if (block.timestamp < closes) revert TrustLedgerOutsideWindow(epoch, block.timestamp, closes, type(uint256).max);
        for (uint256 i = 0; i < verifiers.length; ++i) {
            address v = verifiers[i];
            if (_report(epoch, v) & 1 == 0 || verifierStakeAt(v, epoch) == 0) continue;
            _setReport(epoch, v, 0);
            emit ReportNotRevealed(epoch, v);
            _strike(v, epoch);
        }
    }

    /// @notice Settles `servers` (strictly increasing) for `epoch` from the reports of
    /// `verifiers` (strictly increasing): exactly the committee of `epoch`, each with its
    /// `results` and `salts` (a report revealed on chain: its results, any salt; a committed one:
    /// both, which reveals it; none: empty results and a zero salt). Requires epoch+2 to be the
    /// current epoch; in its first half every committed report must be given, in the second a
    /// report not revealed on chain may be left out (empty results, zero salt) and can then
    /// never count. A non-empty report's verifier fee is credited, while the pool holds it, the
    /// first time it counts.
    /// Servers not
    /// settleable for `epoch`, already settled, or mentioned by under 2/3 of the committee stake
    /// are skipped with {SettlementSkipped}; the rest get S_i (Eq. 3, with the range and max(l)
    /// of `epoch`), are deactivated when S_i < θ (Eq. 4, never slashed), and earn a share of the
    /// epoch's budget. Emits {EpochSettled}, {EpochFunded}, {ServerDeactivated}, {LayersUncovered}.
    function settleEpoch(
        uint64 epoch,
        address[] calldata servers,
        address[] calldata verifiers,
        bytes[] calldata results,
        bytes32[] calldata salts
    ) external virtual {
        uint256 opens = epochEnd(epoch + 1);
        _checkWindow(epoch, opens, epochEnd(epoch + 2));
        Batch memory b = _openBatch(epoch, verifiers, results, salts, block.timestamp >= opens + epochLength / 2);
        _book(b.fees, 0); // before the epoch's budget is reserved from what is left
        uint256 n = servers.length;
        bytes memory settled = _records(n);
        uint256 count;
        address previous;
        for (uint256 i = 0; i < n; ++i) {
            address server = servers[i];
            if (server <= previous) revert TrustLedgerUnsorted(previous, server);
            previous = server;
            uint256 slotA = _settleable(epoch, server);
            if (slotA == 0) continue;
            (uint256 acc, uint256 tokens, uint256 reported) = b.walk.median(server);
            if (3 * reported < 2 * b.committee || reported == 0) {
                emit SettlementSkipped(epoch, server, 3);
                continue;
            }
            (uint256 head, uint256 tail) = _score(b, server, slotA, acc, tokens);
            _record(settled, count++, head, tail);
        }
        _close(b, settled, count);
    }

    /// @dev Room for `n` {EpochSettled} records and the last one's 32-byte store of its tail.
    function _records(uint256 n) internal pure returns (bytes memory) {
        return new bytes(n * SETTLED_BYTES + 32);
    }

    /// @dev Writes record `count` of an {EpochSettled} event: `head` (server ‖ accBps ‖ trust,
    /// 30 bytes) and `tail` (tokens ‖ active, 5 bytes), left-aligned.
    function _record(bytes memory settled, uint256 count, uint256 head, uint256 tail) internal pure {
        assembly ("memory-safe") {
            let at := add(add(settled, 0x20), mul(count, 35)) // SETTLED_BYTES
            mstore(at, head)
            mstore(add(at, 30), tail) // the rest is overwritten by the next record or cut
        }
    }

    /// @dev Emits the batch's {EpochSettled} with its `count` records, books its points and the
    /// rewards it credited, and funds the epoch's budget once it has points.
    function _close(Batch memory b, bytes memory settled, uint256 count) internal {
        assembly ("memory-safe") {
            mstore(settled, mul(count, 35))
        }
        emit EpochSettled(b.epoch, settled);
        if (b.points != 0) {
            _books[b.epoch].points += uint128(b.points); // Σ over servers of < 2^46 each
            _fundEpoch(b.epoch, _paramsRef(b.epoch).rewardPerEpoch);
        }
        _book(0, b.credited);
    }

    /// @notice The commitment for `resultsHash` = keccak256(results).
    function reportCommitment(uint64 epoch, address verifier, bytes32 resultsHash, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(epoch, verifier, resultsHash, salt));
    }

    /// @notice `verifier`'s report state on `epoch`: 0 none, 1 committed, 2 revealed.
    function reportState(uint64 epoch, address verifier) external view returns (uint8) {
        uint256 stored = _report(epoch, verifier);
        return stored == 0 ? 0 : stored & 1 == 1 ? 1 : 2;
    }

    function _openBatch(
        uint64 epoch,
        address[] calldata verifiers,
        bytes[] calldata results,
        bytes32[] calldata salts,
        bool mayLeaveOut
    ) private returns (Batch memory b) {
        uint256 n = verifiers.length;
        if (results.length != n) revert TrustLedgerLengthMismatch(n, results.length);
        if (salts.length != n) revert TrustLedgerLengthMismatch(n, salts.length);
        b.epoch = epoch;
        b.mayLeaveOut = mayLeaveOut;
        b.walk = ReportWalk.open(n);
        address previous;
        for (uint256 i = 0; i < n; ++i) {
            address v = verifiers[i];
            if (v <= previous) revert TrustLedgerUnsorted(previous, v);
            previous = v;
            _count(b, i, v, results[i], salts[i]);
        }
        _checkCommittee(b);
    }

    /// @dev Checks that the batch named the whole committee of its epoch and reads the epoch's
    /// parameters into it.
    function _checkCommittee(Batch memory b) internal view {
        uint64 epoch = b.epoch;
        uint256 total = committeeStake(epoch);
        if (b.committee != total) revert TrustLedgerReportsIncomplete(epoch, b.committee, total);
        Params storage p = _paramsRef(epoch);
        b.theta = p.theta;
        b.maxTokens = p.maxTokensPerEpoch;
        b.sizeNeutral = p.sizeNeutralWeights;
        if (!b.sizeNeutral) b.maxLayers = maxLayersAt(epoch); // Eq. 3's normaliser cancels otherwise
    }

    /// @dev Takes member `i`'s (`v`'s) report `r` into the batch: checks it against what `v`
    /// committed or revealed on chain (a committed report given here is revealed by it, one
    /// not given is left out where `mayLeaveOut`) and credits its fee the first time it counts.
    function _count(Batch memory b, uint256 i, address v, bytes calldata r, bytes32 salt) private {
        uint64 epoch = b.epoch;
        uint256 stake = verifierStakeAt(v, epoch);
        if (stake == 0) revert TrustLedgerNotCommitteeMember(v, epoch);
        b.committee += stake; // a sum of stakes < 2^128 each; compared with the committee's after
        uint256 stored = _report(epoch, v);
        if (stored & 1 == 1 && r.length == 0 && salt == 0) {
            // committed, not given (an empty report given comes with its salt): only once
            // members have had time to reveal on chain
            if (!b.mayLeaveOut) revert TrustLedgerReportMismatch(v, epoch);
            if (stored & LEFT_OUT == 0) _setReport(epoch, v, stored | LEFT_OUT);
            return;
        }
        if (stored == 0 || (stored & 3) == (1 | LEFT_OUT)) {
            if (r.length != 0) revert TrustLedgerReportMismatch(v, epoch); // nothing to count
            return; // no entries: its walk stays empty
        }
        if (stored & 1 == 1) {
            stored = _open(epoch, v, stored, r, salt); // revealed here: written with its fee below
        } else if (uint256(keccak256(r)) & REVEALED_MASK != stored & REVEALED_MASK) {
            revert TrustLedgerReportMismatch(v, epoch);
        }
        uint256 offset;
        assembly ("memory-safe") {
            offset := r.offset
        }
        b.walk.add(i, stake, offset, r.length);
        _counted(b, v, stored, r.length == 0);
    }

    /// @dev `v`'s revealed report (slot value `stored`) counts in the batch: its fee is credited
    /// the first time (an `empty` report earns none), which also writes a report revealed now.
    function _counted(Batch memory b, address v, uint256 stored, bool empty) internal {
        if (stored & FEE_PAID != 0) return;
        if (empty) _setReport(b.epoch, v, stored | FEE_PAID);
        else b.fees += _creditReportFee(b.epoch, v, stored, b.fees);
    }

    /// @dev Slot A of `server`'s record when it can be settled for `epoch` (registered before
    /// it, settleable then and not settled yet for it), else 0 after {SettlementSkipped}.
    function _settleable(uint64 epoch, address server) internal returns (uint256 slotA) {
        ServerRecord storage s = _servers[server];
        // slot A of the record, read once and written once (see {_packSlotA} for its layout)
        assembly ("memory-safe") {
            slotA := sload(s.slot)
        }
        ServerStatus status = ServerStatus(uint8(slotA));
        // an active server is settleable until further notice (activeUntil is max): slot B unread
        if (
            status == ServerStatus.None || epoch < uint32(slotA >> 72)
                || (status != ServerStatus.Active && epoch >= s.activeUntil)
        ) {
            emit SettlementSkipped(epoch, server, 1);
            return 0;
        }
        if (uint32(slotA >> 40) > epoch) {
            emit SettlementSkipped(epoch, server, 2);
            return 0;
        }
    }

    /// @dev Settles `server` (slot A `slotA`, from {_settleable}) with the committee's medians
    /// `acc` (≤ 10^4) and `tokens`; returns its `EpochSettled` record as `head` (server ‖ accBps ‖
    /// trust, left-aligned) and `tail` (tokens ‖ active, left-aligned).
    function _score(Batch memory b, address server, uint256 slotA, uint256 acc, uint256 tokens)
        internal
        returns (uint256 head, uint256 tail)
    {
        if (tokens > b.maxTokens) tokens = b.maxTokens;
        uint64 score = _trust(b, server, acc);
        bool active = score >= b.theta;
        uint256 points;
        unchecked {
            points = active ? (uint256(score) / 1e14) * tokens : 0; // ≤ 10^4 · 2^32 < 2^56
            b.points += points; // < 2^56 per server
        }
        ServerRecord storage s = _servers[server];
        uint256 written = _packSlotA(slotA, score / TRUST_UNIT, b.epoch + 1, points, _rewardsOf(b, slotA));
        assembly ("memory-safe") {
            sstore(s.slot, written)
        }
        if (!active && ServerStatus(uint8(slotA)) == ServerStatus.Active) {
            _retire(server, s, ServerStatus.Deactivated);
            emit ServerDeactivated(server, b.epoch, score);
        }
        // acc ≤ 10^4 (ReportWalk), tokens ≤ maxTokens (uint32)
        head = (uint256(uint160(server)) << 96) | (acc << 80) | (uint256(score) << 16);
        tail = (tokens << 224) | (uint256(active ? 1 : 0) << 216);
    }

    /// @dev S_i (Eq. 3) of `server` with accuracy `acc` (basis points) for the batch's epoch.
    function _trust(Batch memory b, address server, uint256 acc) private view returns (uint64) {
        if (b.sizeNeutral) return uint64(acc * 1e14); // Eq. 3 with w_i = max(l)/l_i is acc exactly (TrustMath.t.sol)
        (uint16 start, uint16 end) = rangeAt(server, b.epoch);
        uint256 layers = end - start;
        return TrustMath.trustScore(acc, layers, b.maxLayers > layers ? b.maxLayers : layers, TrustMath.ONE);
    }

    /// @dev The server's rewards (slot A `slotA`) with its share of the epoch it was last
    /// settled for added: that epoch is final by now (≤ epoch − 1, and this is epoch + 2).
    function _rewardsOf(Batch memory b, uint256 slotA) private view returns (uint256 rewards) {
        rewards = slotA >> 160;
        uint256 pending = uint56(slotA >> 104);
        if (pending != 0) {
            EpochBook storage prev = _books[uint32(slotA >> 40) - 1];
            uint256 reward = (uint256(prev.budget) * pending) / prev.points; // ≤ budget
            rewards += reward; // Σ of budget shares, each ≤ REWARD_CAP (checked below)
            b.credited += reward;
        }
    }

    /// @dev Slot A of a {ServerRecord} after a settlement: fields from the low bits up, as
    /// declared: status (8 bits, kept), trust (32), lastSettled (32), sinceEpoch (32, kept),
    /// pendingPoints (56), rewards (96). `trust` ≤ 1e9, `points` < 2^46; `lastSettled` an
    /// epoch + 1 (< 2^32) and `rewards` are checked.
    function _packSlotA(uint256 slotA, uint256 trust, uint256 lastSettled, uint256 points, uint256 rewards)
        private
        pure
        returns (uint256)
    {
        return (slotA & 0xff) | (trust << 8) | (uint256(SafeCast.toUint32(lastSettled)) << 40)
            | (slotA & (uint256(type(uint32).max) << 72)) | (points << 104)
            | (uint256(SafeCast.toUint96(rewards)) << 160);
    }

    /// @dev Credits `verifier` the fee of its revealed report on `epoch` (stored as `stored`),
    /// as much of it as the pool holds beyond `booked`, and marks the report paid.
    function _creditReportFee(uint64 epoch, address verifier, uint256 stored, uint256 booked)
        private
        returns (uint256 paid)
    {
        _setReport(epoch, verifier, stored | FEE_PAID);
        uint256 left = rewardPool - booked; // booked: fees of this batch, each within the pool
        paid = _paramsRef(epoch).verifierFee;
        if (paid > left) paid = left;
        if (paid != 0) _creditFee(verifier, paid);
    }

    function _commit(uint64 epoch, address verifier, bytes32 commitment) private {
        _setReport(epoch, verifier, (uint256(commitment) & REVEALED_MASK) | 1);
        emit ReportCommitted(epoch, verifier, commitment);
    }

    /// @dev Checks `results` and `salt` against `verifier`'s commitment `stored` and the
    /// results' length; returns the slot value of the revealed report.
    function _open(uint64 epoch, address verifier, uint256 stored, bytes calldata results, bytes32 salt)
        private
        pure
        returns (uint256)
    {
        bytes32 hash = keccak256(results);
        if ((uint256(reportCommitment(epoch, verifier, hash, salt)) & REVEALED_MASK) | 1 != stored) {
            revert TrustLedgerCommitmentMismatch(verifier, epoch);
        }
        // whole entries; their order is not checked (see ReportWalk: misordered entries only
        // lose themselves)
        if (results.length % ReportWalk.ENTRY_BYTES != 0) revert TrustLedgerMalformedResults(results.length);
        return uint256(hash) & REVEALED_MASK;
    }

    function _checkCommitWindow(uint64 epoch) private view {
        uint256 opens = epochEnd(epoch);
        _checkWindow(epoch, opens, opens + epochLength / 2);
    }

    function _report(uint64 epoch, address verifier) internal view returns (uint256 data) {
        uint256 word = _reports[verifier][epoch % 4];
        return word >> 192 == uint256(epoch) + 1 ? word & DATA_MASK : 0;
    }

    function _setReport(uint64 epoch, address verifier, uint256 data) private {
        _reports[verifier][epoch % 4] = ((uint256(epoch) + 1) << 192) | data;
    }

    function _checkWindow(uint64 epoch, uint256 opens, uint256 closes) internal view {
        if (block.timestamp < opens || block.timestamp >= closes) {
            revert TrustLedgerOutsideWindow(epoch, block.timestamp, opens, closes);
        }
    }
}
