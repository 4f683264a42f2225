// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ITrustLedger
/// @notice Types, events and errors of the eFedLLM trust ledger (paper §3.2): stake, per-server
/// trust score S_i (Eq. 3), threshold θ (Eq. 4), committee reports with commit-reveal,
/// stake-weighted medians, slashing on evidence, rewards. See docs/settlement.md.
interface ITrustLedger {
    /// @dev Lifecycle of a Server. `Exiting`: unbonded all its stake. `Deactivated`: S_i fell
    /// under θ (Eq. 4) or evidence against it is pending (off routes, not slashed). `Slashed`:
    /// evidence or an equivocation proof was executed against it.
    enum ServerStatus {
        None,
        Active,
        Exiting,
        Deactivated,
        Slashed
    }

    enum VerifierStatus {
        None,
        Active,
        Exiting
    }

    enum SlashState {
        None,
        Pending,
        Refuted,
        Executed
    }

    /// @dev Governance parameters, each with a floor and a cap (see {LedgerParams}). Amounts in
    /// token base units, `theta` in 1e18 fixed point, windows in epochs, delays in seconds.
    struct Params {
        uint256 minServerStake;
        uint256 minVerifierStake; // ≥ minServerStake · slashShareBps / 10^4
        uint256 rewardPerEpoch; // shared by the servers settled for an epoch, ∝ S_i × tokens
        uint256 verifierFee; // per revealed report, while the pool has it
        uint64 theta; // Eq. 4 threshold, 1e18 = 1.0
        uint32 maxTokensPerEpoch; // cap on a server's tokens in one epoch
        uint32 minMemoryMiB; // hardware admission threshold (paper §3.1)
        uint32 minThroughput; // layer-tokens per second
        uint32 unbondingDelay; // seconds after the end of the unbonding epoch
        uint16 slashShareBps; // share of stake + unbonding slashed on executed evidence
        uint16 strikeLimit; // decayed strikes at which a verifier is slashed
        uint16 strikeDecayEpochs; // one strike is forgiven per this many epochs
        uint16 evidenceWindowEpochs; // evidence on epoch e is accepted until e + this
        uint16 challengeEpochs; // a pending slash can be refuted for this many epochs
        bool sizeNeutralWeights; // w_i = max(l)/l_i, so S_i = acc_i
    }

    /// @dev Hardware declared at registration and re-checked on updateLayers.
    struct Hardware {
        uint32 memoryMiB;
        uint32 throughput;
    }

    /// @dev What a server signs with its peer key per inference step (EIP-712 `Receipt`).
    struct Receipt {
        bytes32 session;
        uint16 start;
        uint16 end;
        uint32 pos;
        uint32 n;
        uint64 epoch;
        bytes32 inputDigest;
        bytes32 outputDigest;
        bytes32 commitDigest;
        bytes32 prev;
        bytes32 upstream;
    }

    /// @dev Everything a node needs about a server.
    struct ServerView {
        address account;
        ServerStatus status;
        uint16 start;
        uint16 end;
        uint64 trust;
        uint128 stake;
        uint128 unbonding;
        uint64 withdrawableAt;
        uint64 sinceEpoch; // first epoch it can be settled for
        uint64 lastSettledEpoch; // type(uint64).max when never settled
        uint32 memoryMiB;
        uint32 throughput;
        uint32 pendingSlash; // pending slashes (withdrawals blocked while > 0)
        uint256 pendingRewards;
        address peerSigner;
        bytes peerId;
        string[] addrs;
    }

    struct VerifierView {
        address account;
        VerifierStatus status;
        uint128 stake;
        uint128 unbonding;
        uint64 withdrawableAt;
        uint16 strikes; // decayed
        uint256 pendingRewards;
        bytes peerId;
        string[] addrs;
    }

    // --- events -------------------------------------------------------------------------

    event ParamsScheduled(uint64 indexed fromEpoch, Params params);
    event TreasuryUpdated(address indexed treasury);
    event ModelUpdated(bytes32 indexed modelHash, uint16 numLayers);
    event ServerRegistered(
        address indexed server, uint16 start, uint16 end, bytes peerId, address indexed peerSigner, uint256 stake
    );
    event ServerLayersUpdated(address indexed server, uint16 start, uint16 end, uint64 fromEpoch);
    event ServerAddrsUpdated(address indexed server, string[] addrs);
    event VerifierRegistered(address indexed verifier, uint256 stake, bytes peerId);
    event VerifierAddrsUpdated(address indexed verifier, string[] addrs);
    event StakeChanged(address indexed account, uint256 stake, uint256 unbonding);
    event UnbondRequested(address indexed account, uint256 amount, uint64 epoch, uint256 withdrawableAt);
    event Withdrawn(address indexed account, uint256 amount);
    event LayersUncovered(address indexed server, uint16 start, uint16 end);
    event ServerReactivated(address indexed server, uint64 fromEpoch);
    event ReportCommitted(uint64 indexed epoch, address indexed verifier, bytes32 commitment);
    event ReportRevealed(uint64 indexed epoch, address indexed verifier, bytes results);
    event ReportNotRevealed(uint64 indexed epoch, address indexed verifier);
    /// @dev One event per settlement call: `settled` packs, for each server it settled, in the
    /// order given, `server (20 bytes) ‖ accBps (2) ‖ trust (8) ‖ tokens (4) ‖ active (1)`
    /// (35 bytes; one event per server cost ~2,500 gas each, a third of a server's settlement).
    event EpochSettled(uint64 indexed epoch, bytes settled);
    /// @dev reason: 1 not settleable at `epoch`, 2 already settled, 3 reports under 2/3 of the committee stake.
    event SettlementSkipped(uint64 indexed epoch, address indexed server, uint8 reason);
    event ServerDeactivated(address indexed server, uint64 indexed epoch, uint64 trust);
    event EvidenceSubmitted(
        bytes32 indexed slashId, address indexed server, bytes32 receiptHash, bytes32 recordHash, uint64 executableFrom
    );
    event SlashRefuted(bytes32 indexed slashId, address indexed server);
    event ServerSlashed(address indexed server, bytes32 indexed slashId, uint256 stakeSlashed, uint256 rewardsForfeited);
    event EquivocationProven(address indexed server, bytes32 receiptA, bytes32 receiptB);
    event VerifierStruck(address indexed verifier, uint64 indexed epoch, uint16 strikes);
    event VerifierSlashed(address indexed verifier, uint256 slashed);
    event RewardsFunded(address indexed from, uint256 amount);
    event EpochFunded(uint64 indexed epoch, uint256 budget, uint256 shortfall);
    event RewardCredited(address indexed account, uint64 indexed epoch, uint256 amount);
    event RewardsClaimed(address indexed account, uint256 amount);

    // --- errors -------------------------------------------------------------------------

    error TrustLedgerInvalidParams(string field, uint256 value, uint256 floor, uint256 cap);
    error TrustLedgerInsufficientStake(address account, uint256 stake, uint256 minimum);
    error TrustLedgerInsufficientHardware(address server, uint32 memoryMiB, uint32 throughput);
    error TrustLedgerInvalidLayerRange(uint16 start, uint16 end, uint16 numLayers);
    error TrustLedgerUnsupportedPeerId(bytes peerId);
    error TrustLedgerInvalidPeerKey(bytes peerId);
    error TrustLedgerPeerBindingInvalid(address server, address recovered, address peerSigner);
    error TrustLedgerPeerIdTaken(address peerSigner, address owner);
    error TrustLedgerInvalidAddrs(uint256 count);
    error TrustLedgerAlreadyRegistered(address account);
    error TrustLedgerNotActive(address account);
    error TrustLedgerNotRegistered(address account);
    error TrustLedgerZeroAmount();
    error TrustLedgerTokenNotExact(uint256 sent, uint256 received);
    error TrustLedgerUnbondTooLarge(address account, uint256 amount, uint256 stake);
    error TrustLedgerNothingUnbonding(address account);
    error TrustLedgerUnbondingNotReady(address account, uint256 withdrawableAt);
    error TrustLedgerSlashPending(address account, uint256 pending);
    error TrustLedgerOutsideWindow(uint64 epoch, uint256 timestamp, uint256 opens, uint256 closes);
    error TrustLedgerNotCommitteeMember(address verifier, uint64 epoch);
    error TrustLedgerNotCommitted(address verifier, uint64 epoch);
    error TrustLedgerCommitmentMismatch(address verifier, uint64 epoch);
    error TrustLedgerAlreadyRevealed(address verifier, uint64 epoch);
    error TrustLedgerMalformedResults(uint256 offset);
    error TrustLedgerReportsIncomplete(uint64 epoch, uint256 stakeGiven, uint256 revealedStake);
    error TrustLedgerReportMismatch(address verifier, uint64 epoch);
    error TrustLedgerUnsorted(address previous, address next);
    error TrustLedgerLengthMismatch(uint256 a, uint256 b);
    error TrustLedgerInsufficientSignatures(uint256 stake, uint256 committeeStake);
    error TrustLedgerBadSignature(address signer);
    error TrustLedgerUnknownPeerSigner(address peerSigner);
    error TrustLedgerEvidenceExpired(uint64 epoch, uint64 currentEpoch);
    error TrustLedgerSlashExists(bytes32 slashId);
    error TrustLedgerSlashNotPending(bytes32 slashId, SlashState state);
    error TrustLedgerChallengeOpen(bytes32 slashId, uint64 executableFrom);
    error TrustLedgerChallengeClosed(bytes32 slashId, uint64 executableFrom);
    error TrustLedgerNotEquivocation();
    error TrustLedgerEquivocationUsed(bytes32 pairId);
    error TrustLedgerModelInUse(uint256 activeServers);
    error TrustLedgerNothingToClaim(address account);
    error TrustLedgerPartMismatch(address part);
    error TrustLedgerNotHere(bytes4 selector);
}
