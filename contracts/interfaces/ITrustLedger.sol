// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ITrustLedger
/// @notice Types, events and errors of the eFedLLM trust ledger (paper §3.2): stake,
/// per-server trust score S_i (Eq. 3), threshold θ (Eq. 4), verifier quorums, rewards.
interface ITrustLedger {
    /// @dev Lifecycle of a Server. `Exiting`: unbonded all stake, still slashable for the
    /// epochs it served. `Deactivated`: S_i fell under θ (Eq. 4).
    enum ServerStatus {
        None,
        Active,
        Exiting,
        Deactivated
    }

    enum VerifierStatus {
        None,
        Active,
        Exiting
    }

    /// @dev Governance parameters. Amounts in token base units; `theta` in 1e18 fixed point.
    struct Params {
        uint256 minServerStake;
        uint256 minVerifierStake;
        uint256 rewardPerEpoch; // shared by the servers settled for an epoch, ∝ S_i × tokensServed
        uint256 verifierFee; // paid per attestation whose accuracy is within `deviationBps` of the median
        uint64 theta; // Eq. 4 threshold, 1e18 = 1.0
        uint32 minMemoryMiB; // hardware admission threshold (paper §3.1)
        uint32 minThroughput; // measured throughput, layer-tokens per second
        uint32 unbondingDelay; // seconds after the end of the unbonding epoch; ≥ epoch length
        uint16 quorum; // q: distinct verifiers per settlement
        uint16 slashShareBps; // share of stake slashed on deactivation or at the strike limit
        uint16 deviationBps; // |acc_v − median| above this earns a strike and no fee
        uint16 strikeLimit; // strikes before a verifier is slashed
        bool sizeNeutralWeights; // w_i = max(l)/l_i, so S_i = acc_i and small servers are not punished
    }

    /// @dev Reported hardware at registration.
    struct Hardware {
        uint32 memoryMiB;
        uint32 throughput;
    }

    /// @dev One verifier's signed report on one server for one epoch. The signed EIP-712 struct
    /// is `Attestation(uint64 epoch,address server,uint32 accBps,uint32 probes,uint64 tokensServed)`;
    /// epoch and server come from the call, so they are not repeated here. The signature is in
    /// EIP-2098 compact form (r, yParity‖s): static calldata, 64 bytes.
    struct Report {
        uint32 accBps;
        uint32 probes;
        uint64 tokensServed;
        bytes32 r;
        bytes32 vs;
    }

    /// @dev Everything a node needs about a server.
    struct ServerView {
        address account;
        ServerStatus status;
        uint16 start;
        uint16 end;
        uint64 trust;
        uint64 weight;
        uint128 stake;
        uint128 unbonding;
        uint64 unbondEpoch;
        uint64 lastSettledEpoch; // type(uint64).max when never settled
        uint32 memoryMiB;
        uint32 throughput;
        uint256 pendingRewards;
        bytes peerId;
        string[] addrs;
    }

    struct VerifierView {
        address account;
        VerifierStatus status;
        uint128 stake;
        uint128 unbonding;
        uint64 unbondEpoch;
        uint16 strikes;
        uint256 pendingRewards;
    }

    // --- events -------------------------------------------------------------------------

    event ParamsUpdated(Params params);
    event ModelUpdated(bytes32 indexed modelHash, uint16 numLayers);
    event ServerWeightUpdated(address indexed server, uint64 weight);
    event ServerRegistered(address indexed server, uint16 start, uint16 end, bytes peerId, uint256 stake);
    event ServerLayersUpdated(address indexed server, uint16 start, uint16 end);
    event ServerAddrsUpdated(address indexed server, string[] addrs);
    event VerifierRegistered(address indexed verifier, uint256 stake);
    event StakeAdded(address indexed account, uint256 amount, uint256 stake);
    event UnbondRequested(address indexed account, uint256 amount, uint64 epoch, uint256 withdrawableAt);
    event Withdrawn(address indexed account, uint256 amount);
    event LayersUncovered(address indexed server, uint16 start, uint16 end);
    /// @dev `credited`: the server's reward for its previous settled epoch, credited now that
    /// that epoch is final (a {RewardCredited} event covers credits made outside settlement).
    event EpochSettled(
        uint64 indexed epoch,
        address indexed server,
        uint32 accBps,
        uint64 trust,
        uint64 tokensServed,
        bool active,
        uint256 credited
    );
    event ServerDeactivated(address indexed server, uint64 indexed epoch, uint64 trust, uint256 slashed);
    event VerifierStruck(address indexed verifier, uint64 indexed epoch, address indexed server, uint16 strikes);
    event VerifierSlashed(address indexed verifier, uint256 slashed);
    event RewardsFunded(address indexed from, uint256 amount);
    event EpochFunded(uint64 indexed epoch, uint256 budget);
    event RewardCredited(address indexed account, uint64 indexed epoch, uint256 amount);
    event RewardsClaimed(address indexed account, uint256 amount);

    // --- errors -------------------------------------------------------------------------

    error TrustLedgerInvalidParams(string reason);
    error TrustLedgerInsufficientStake(address account, uint256 stake, uint256 minimum);
    error TrustLedgerInsufficientHardware(address server, uint32 memoryMiB, uint32 throughput);
    error TrustLedgerInvalidLayerRange(uint16 start, uint16 end, uint16 numLayers);
    error TrustLedgerInvalidPeerId(uint256 length);
    error TrustLedgerPeerIdTaken(bytes peerId, address owner);
    error TrustLedgerInvalidAddrs(uint256 count);
    error TrustLedgerAlreadyRegistered(address account);
    error TrustLedgerNotActive(address account);
    error TrustLedgerNotRegistered(address account);
    error TrustLedgerZeroAmount();
    error TrustLedgerUnbondTooLarge(address account, uint256 amount, uint256 stake);
    error TrustLedgerNothingUnbonding(address account);
    error TrustLedgerUnbondingNotReady(address account, uint256 withdrawableAt);
    error TrustLedgerEpochNotEnded(uint64 epoch, uint64 currentEpoch);
    error TrustLedgerSettlementClosed(uint64 epoch, uint64 currentEpoch);
    error TrustLedgerAlreadySettled(address server, uint64 epoch);
    error TrustLedgerServerNotSettleable(address server, ServerStatus status);
    error TrustLedgerQuorumNotReached(uint256 signers, uint16 quorum);
    error TrustLedgerInvalidAccuracy(uint32 accBps);
    error TrustLedgerDuplicateSigner(address signer);
    error TrustLedgerUnsortedSigners(address previous, address signer);
    error TrustLedgerLengthMismatch(uint256 servers, uint256 reports);
    error TrustLedgerInvalidWeight(uint64 weight);
    error TrustLedgerModelInUse(uint256 activeServers);
    error TrustLedgerNothingToClaim(address account);
}
