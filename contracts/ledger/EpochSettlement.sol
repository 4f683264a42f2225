// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TrustMath} from "../libraries/TrustMath.sol";
import {Rewards} from "./Rewards.sol";

/// @title EpochSettlement
/// @notice One report per committee member per epoch, committed then revealed, and the
/// settlement of every server from all revealed reports. Timeline for epoch e (length len):
/// commit in [end(e), end(e) + len/2), reveal in [end(e) + len/2, end(e) + len), settle during
/// epoch e+2. A report is packed entries `server (20 bytes) ‖ accBps (2) ‖ tokens (4)` in
/// strictly increasing server order. Each server's accuracy and tokens are the stake-weighted
/// medians of the reports that mention it, which must carry ≥ 2/3 of the committee stake.
abstract contract EpochSettlement is Rewards {
    uint256 internal constant ENTRY_BYTES = 26;
    bytes32 private constant REVEALED_MASK = ~bytes32(uint256(1));

    // 0: nothing; low bit 1: commitment (its other 255 bits); low bit 0: revealed results hash
    // (its other 255 bits). One slot per report.
    mapping(uint64 epoch => mapping(address verifier => bytes32)) private _reports;
    mapping(uint64 epoch => uint256) private _revealedStake;

    /// @dev Settlement state shared by one `settleEpoch` call.
    struct Batch {
        uint64 epoch;
        uint64 theta;
        uint32 maxTokens;
        bool sizeNeutral;
        uint16 maxLayers;
        uint256 committee;
        uint256[] stakes; // per verifier
        uint256[] cursors; // per verifier: byte offset of its next entry
        uint256[] accs;
        uint256[] accWeights;
        uint256[] tokens;
        uint256[] tokenWeights;
        uint256 points;
        uint256 credited;
    }

    /// @notice Commits the caller's report on `epoch`: `commitment` = keccak256(abi.encode(epoch,
    /// verifier, keccak256(results), salt)). Requires a member of `epoch`'s committee and the
    /// commit window (first half of epoch+1); may be overwritten within it. Emits {ReportCommitted}.
    function commitReport(uint64 epoch, bytes32 commitment) external {
        uint256 opens = epochEnd(epoch);
        _checkWindow(epoch, opens, opens + epochLength / 2);
        if (verifierStakeAt(msg.sender, epoch) == 0) revert TrustLedgerNotCommitteeMember(msg.sender, epoch);
        _reports[epoch][msg.sender] = commitment | bytes32(uint256(1));
        emit ReportCommitted(epoch, msg.sender, commitment);
    }

    /// @notice Reveals the caller's committed report on `epoch`. Requires the reveal window
    /// (second half of epoch+1), a matching commitment and well-formed results. The caller's
    /// committee stake joins the revealed stake of `epoch`, and it is paid the verifier fee if the
    /// pool holds it. Emits {ReportRevealed}.
    function revealReport(uint64 epoch, bytes calldata results, bytes32 salt) external {
        uint256 end = epochEnd(epoch);
        _checkWindow(epoch, end + epochLength / 2, end + epochLength);
        bytes32 stored = _reports[epoch][msg.sender];
        if (stored == 0) revert TrustLedgerNotCommitted(msg.sender, epoch);
        if (uint256(stored) & 1 == 0) revert TrustLedgerAlreadyRevealed(msg.sender, epoch);
        bytes32 hash = keccak256(results);
        if (reportCommitment(epoch, msg.sender, hash, salt) | bytes32(uint256(1)) != stored) {
            revert TrustLedgerCommitmentMismatch(msg.sender, epoch);
        }
        _checkResults(results);
        _reports[epoch][msg.sender] = hash & REVEALED_MASK;
        _revealedStake[epoch] += verifierStakeAt(msg.sender, epoch);
        uint256 fee = paramsAt(epoch).verifierFee;
        if (fee > rewardPool) fee = rewardPool;
        if (fee != 0) {
            _creditFee(msg.sender, fee);
            _book(fee, 0);
        }
        emit ReportRevealed(epoch, msg.sender, results);
    }

    /// @notice Strikes each of `verifiers` that committed a report on `epoch` and did not
    /// reveal it (others are skipped). Anyone, once the reveal window has closed.
    /// Emits {ReportNotRevealed}, {VerifierStruck} (and {VerifierSlashed}).
    function penalizeUnrevealed(uint64 epoch, address[] calldata verifiers) external nonReentrant {
        uint256 closes = epochEnd(epoch) + epochLength;
        if (block.timestamp < closes) revert TrustLedgerOutsideWindow(epoch, block.timestamp, closes, type(uint256).max);
        for (uint256 i = 0; i < verifiers.length; ++i) {
            address v = verifiers[i];
            if (uint256(_reports[epoch][v]) & 1 == 0) continue;
            delete _reports[epoch][v];
            emit ReportNotRevealed(epoch, v);
            _strike(v, epoch);
        }
    }

    /// @notice Settles `servers` (strictly increasing) for `epoch` from the reports of
    /// `verifiers` (strictly increasing): exactly every verifier that revealed on `epoch`, each
    /// with its revealed `results`. Requires epoch+2 to be the current epoch. Servers not
    /// settleable for `epoch`, already settled, or mentioned by under 2/3 of the committee stake
    /// are skipped with {SettlementSkipped}; the rest get S_i (Eq. 3, with the range and max(l)
    /// of `epoch`), are deactivated when S_i < θ (Eq. 4, never slashed), and earn a share of the
    /// epoch's budget. Emits {EpochSettled}, {EpochFunded}, {ServerDeactivated}, {LayersUncovered}.
    function settleEpoch(
        uint64 epoch,
        address[] calldata servers,
        address[] calldata verifiers,
        bytes[] calldata results
    ) external {
        _checkWindow(epoch, epochEnd(epoch + 1), epochEnd(epoch + 2));
        Batch memory b = _openBatch(epoch, verifiers, results);
        address previous;
        for (uint256 i = 0; i < servers.length; ++i) {
            address server = servers[i];
            if (server <= previous) revert TrustLedgerUnsorted(previous, server);
            previous = server;
            _settleServer(b, server, results);
        }
        if (b.points != 0) {
            _books[epoch].points += b.points;
            _fundEpoch(epoch, paramsAt(epoch).rewardPerEpoch);
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
        bytes32 stored = _reports[epoch][verifier];
        return stored == 0 ? 0 : uint256(stored) & 1 == 1 ? 1 : 2;
    }

    /// @notice The committee stake that revealed a report on `epoch`.
    function revealedStake(uint64 epoch) external view returns (uint256) {
        return _revealedStake[epoch];
    }

    function _openBatch(uint64 epoch, address[] calldata verifiers, bytes[] calldata results)
        private
        view
        returns (Batch memory b)
    {
        uint256 n = verifiers.length;
        if (n != results.length) revert TrustLedgerLengthMismatch(n, results.length);
        b.stakes = new uint256[](n);
        b.cursors = new uint256[](n);
        b.accs = new uint256[](n);
        b.accWeights = new uint256[](n);
        b.tokens = new uint256[](n);
        b.tokenWeights = new uint256[](n);
        uint256 sum;
        address previous;
        for (uint256 i = 0; i < n; ++i) {
            address v = verifiers[i];
            if (v <= previous) revert TrustLedgerUnsorted(previous, v);
            previous = v;
            bytes32 stored = _reports[epoch][v];
            if (stored == 0 || uint256(stored) & 1 == 1 || keccak256(results[i]) & REVEALED_MASK != stored) {
                revert TrustLedgerReportMismatch(v, epoch);
            }
            b.stakes[i] = verifierStakeAt(v, epoch);
            sum += b.stakes[i];
        }
        if (sum != _revealedStake[epoch]) revert TrustLedgerReportsIncomplete(epoch, sum, _revealedStake[epoch]);
        Params memory p = paramsAt(epoch);
        b.epoch = epoch;
        b.theta = p.theta;
        b.maxTokens = p.maxTokensPerEpoch;
        b.sizeNeutral = p.sizeNeutralWeights;
        b.maxLayers = maxLayersAt(epoch);
        b.committee = committeeStake(epoch);
    }

    function _settleServer(Batch memory b, address server, bytes[] calldata results) private {
        // merge walk: each report's entries for this server (reports are sorted by server)
        uint256 k;
        uint256 reported;
        for (uint256 i = 0; i < results.length; ++i) {
            bytes calldata r = results[i];
            uint256 pos = b.cursors[i];
            uint256 word;
            while (pos < r.length) {
                assembly ("memory-safe") {
                    word := calldataload(add(r.offset, pos))
                }
                if (address(uint160(word >> 96)) >= server) break;
                pos += ENTRY_BYTES;
            }
            b.cursors[i] = pos;
            if (pos >= r.length || address(uint160(word >> 96)) != server) continue;
            b.accs[k] = uint16(word >> 80);
            b.tokens[k] = uint32(word >> 48);
            b.accWeights[k] = b.stakes[i];
            b.tokenWeights[k] = b.stakes[i];
            reported += b.stakes[i];
            ++k;
        }
        ServerRecord storage s = _servers[server];
        uint64 epoch = b.epoch;
        if (s.status == ServerStatus.None || epoch < s.sinceEpoch || epoch >= s.activeUntil) {
            emit SettlementSkipped(epoch, server, 1);
            return;
        }
        if (s.lastSettled > epoch) {
            emit SettlementSkipped(epoch, server, 2);
            return;
        }
        if (3 * reported < 2 * b.committee || reported == 0) {
            emit SettlementSkipped(epoch, server, 3);
            return;
        }

        uint256 acc = TrustMath.weightedMedian(b.accs, b.accWeights, k);
        uint256 tokens = TrustMath.weightedMedian(b.tokens, b.tokenWeights, k);
        if (tokens > b.maxTokens) tokens = b.maxTokens;
        (uint16 start, uint16 end) = rangeAt(server, epoch);
        uint256 layers = end - start;
        uint256 maxLayers = b.maxLayers > layers ? b.maxLayers : layers;
        uint256 weight = b.sizeNeutral ? TrustMath.sizeNeutralWeight(layers, maxLayers) : TrustMath.ONE;
        uint64 score = TrustMath.trustScore(acc, layers, maxLayers, weight);
        bool active = score >= b.theta;

        // the previous settled epoch is final by now (≤ epoch − 1, and this is epoch + 2)
        uint56 pending = s.pendingPoints;
        if (pending != 0) {
            EpochBook storage prev = _books[s.lastSettled - 1];
            uint256 reward = (uint256(prev.budget) * pending) / prev.points; // ≤ budget
            s.rewards += uint96(reward); // Σ of budget shares, each ≤ REWARD_CAP
            b.credited += reward;
        }
        uint256 points = active ? (uint256(score) / 1e14) * tokens : 0; // ≤ 10^4 · 2^32 < 2^56
        s.trust = score;
        s.lastSettled = uint32(epoch + 1);
        s.pendingPoints = uint56(points);
        b.points += points;
        emit EpochSettled(epoch, server, uint32(acc), score, uint32(tokens), active);
        if (!active && s.status == ServerStatus.Active) {
            _retire(server, s, ServerStatus.Deactivated);
            emit ServerDeactivated(server, epoch, score);
        }
    }

    /// @dev Requires well-formed results: whole entries, servers strictly increasing, accBps ≤ 10^4.
    function _checkResults(bytes calldata results) private pure {
        if (results.length % ENTRY_BYTES != 0) revert TrustLedgerMalformedResults(results.length);
        uint256 previous;
        for (uint256 pos = 0; pos < results.length; pos += ENTRY_BYTES) {
            uint256 word;
            assembly ("memory-safe") {
                word := calldataload(add(results.offset, pos))
            }
            uint256 server = word >> 96;
            if (server <= previous || uint16(word >> 80) > TrustMath.BPS) revert TrustLedgerMalformedResults(pos);
            previous = server;
        }
    }

    function _checkWindow(uint64 epoch, uint256 opens, uint256 closes) private view {
        if (block.timestamp < opens || block.timestamp >= closes) {
            revert TrustLedgerOutsideWindow(epoch, block.timestamp, opens, closes);
        }
    }
}
