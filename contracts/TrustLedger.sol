// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {StakeAccounting} from "./StakeAccounting.sol";
import {TrustMath} from "./libraries/TrustMath.sol";

/// @title TrustLedger
/// @notice Registry, trust scores and settlement for eFedLLM (paper §3). Servers stake and
/// register the layer range they serve; verifiers stake and sign EIP-712 attestations; a
/// quorum of them settles each (server, epoch): the median accuracy gives S_i (Eq. 3), θ
/// decides active or deactivated (Eq. 4), and the epoch's reward budget is shared ∝ S_i × work.
///
/// Epochs are defined by block time: epoch e covers [genesis + e·len, genesis + (e+1)·len).
/// Epoch e can be settled only during epoch e+1, so it is final from epoch e+2 on; stake
/// asked back in epoch e leaves no earlier than `epochEnd(e) + unbondingDelay`, and
/// `unbondingDelay ≥ len`, so every epoch a staker served can still be slashed.
contract TrustLedger is StakeAccounting, AccessControl, EIP712, ReentrancyGuardTransient {
    using EnumerableSet for EnumerableSet.AddressSet;
    using SafeCast for uint256;

    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    bytes32 public constant ATTESTATION_TYPEHASH =
        keccak256("Attestation(uint64 epoch,address server,uint32 accBps,uint32 probes,uint64 tokensServed)");
    uint256 public constant MAX_PEER_ID_BYTES = 64;
    uint256 public constant MAX_ADDRS = 8;
    uint256 public constant MAX_ADDR_BYTES = 256;
    uint64 public constant DEFAULT_WEIGHT = 1e18;

    // Slot layout matters for gas: a settlement reads slot 0 and writes slot 1 (and slot 2
    // when a reward is credited).
    struct ServerRecord {
        uint96 stake; // slot 0: read by every settlement; never zero while active, so the
        uint96 rewards; //        rewards credited here cost a warm write, not a fresh slot
        uint16 start;
        uint16 end;
        ServerStatus status;
        uint64 trust; // slot 1: S_i of the last settlement, 1e18
        uint32 lastSettled; // last settled epoch + 1 (0: never)
        uint32 unbondEpoch;
        uint128 pendingPoints; // S_i × tokensServed of the last settled epoch, not yet credited
        uint128 unbonding; // slot 2
        uint64 weight; // w_i, 1e18 (used when weights are not size-neutral)
        uint32 memoryMiB;
        uint32 throughput;
        bytes peerId;
        string[] addrs;
    }

    struct VerifierRecord {
        uint128 stake;
        uint96 fees;
        uint16 strikes;
        VerifierStatus status;
        uint128 unbonding;
        uint32 unbondEpoch;
    }

    struct EpochPool {
        uint128 points; // Σ S_i × tokensServed over the servers settled for the epoch
        uint120 budget;
        bool reserved;
    }

    /// @notice Start of epoch 0.
    uint256 public immutable genesis;
    /// @notice Seconds per epoch; fixed, since changing it would renumber settled epochs.
    uint32 public immutable epochLength;

    Params private _params;
    bytes32 private _modelHash;
    uint16 private _numLayers;
    uint16 private _maxActiveLayers;
    mapping(address server => ServerRecord) private _servers;
    mapping(address verifier => VerifierRecord) private _verifiers;
    mapping(bytes32 peerIdHash => address server) private _peerOwner;
    mapping(uint64 epoch => EpochPool) private _epochs;
    mapping(uint256 layers => uint256 count) private _activeByLength;
    EnumerableSet.AddressSet private _serverSet;
    EnumerableSet.AddressSet private _activeSet;
    EnumerableSet.AddressSet private _verifierSet;

    /// @param token_ stake and reward token (any ERC-20).
    /// @param admin receives the admin and governor roles.
    /// @param modelHash_ hash identifying the model the swarm serves.
    /// @param numLayers_ L, the model's transformer layer count.
    /// @param epochLength_ seconds per epoch.
    /// @param params_ initial governance parameters (see {ITrustLedger-Params}).
    constructor(
        IERC20 token_,
        address admin,
        bytes32 modelHash_,
        uint16 numLayers_,
        uint32 epochLength_,
        Params memory params_
    ) StakeAccounting(token_) EIP712("eFedLLM TrustLedger", "1") {
        if (epochLength_ == 0) revert TrustLedgerInvalidParams("epochLength");
        if (numLayers_ == 0) revert TrustLedgerInvalidParams("numLayers");
        epochLength = epochLength_;
        genesis = block.timestamp;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNOR_ROLE, admin);
        _setParams(params_);
        _modelHash = modelHash_;
        _numLayers = numLayers_;
        emit ModelUpdated(modelHash_, numLayers_);
    }

    // --- governance ---------------------------------------------------------------------

    /// @notice Replaces the governance parameters. Requires GOVERNOR_ROLE and valid values
    /// (quorum ≥ 1, θ ≤ 1, shares ≤ 100%, unbonding delay ≥ epoch length). Emits {ParamsUpdated}.
    function setParams(Params calldata params_) external onlyRole(GOVERNOR_ROLE) {
        _setParams(params_);
    }

    /// @notice Points the ledger at another model. Requires GOVERNOR_ROLE and no active
    /// server (their ranges would refer to the old model). Emits {ModelUpdated}.
    function setModel(bytes32 modelHash_, uint16 numLayers_) external onlyRole(GOVERNOR_ROLE) {
        if (_activeSet.length() != 0) revert TrustLedgerModelInUse(_activeSet.length());
        if (numLayers_ == 0) revert TrustLedgerInvalidParams("numLayers");
        _modelHash = modelHash_;
        _numLayers = numLayers_;
        emit ModelUpdated(modelHash_, numLayers_);
    }

    /// @notice Sets w_i for a registered server, 0 < w ≤ 1e18 (used when weights are not
    /// size-neutral). Requires GOVERNOR_ROLE. Emits {ServerWeightUpdated}.
    function setServerWeight(address server, uint64 weight) external onlyRole(GOVERNOR_ROLE) {
        if (weight == 0 || weight > TrustMath.ONE) revert TrustLedgerInvalidWeight(weight);
        ServerRecord storage s = _servers[server];
        if (s.status == ServerStatus.None) revert TrustLedgerNotRegistered(server);
        s.weight = weight;
        emit ServerWeightUpdated(server, weight);
    }

    // --- servers ------------------------------------------------------------------------

    /// @notice Registers the caller as a Server for layers [start, end), pulling `amount`
    /// stake. Requires stake ≥ minServerStake, hardware ≥ the admission threshold, a range
    /// inside the model, a 1–64 byte peer id not used by another server, at most 8 addrs,
    /// and no existing registration in either role. Emits {ServerRegistered}.
    function registerServer(
        uint256 amount,
        uint16 start,
        uint16 end,
        bytes calldata peerId,
        string[] calldata addrs,
        Hardware calldata hw
    ) external nonReentrant {
        Params storage p = _params;
        ServerRecord storage s = _servers[msg.sender];
        if (s.status != ServerStatus.None || _verifiers[msg.sender].status != VerifierStatus.None) {
            revert TrustLedgerAlreadyRegistered(msg.sender);
        }
        if (amount < p.minServerStake) revert TrustLedgerInsufficientStake(msg.sender, amount, p.minServerStake);
        if (hw.memoryMiB < p.minMemoryMiB || hw.throughput < p.minThroughput) {
            revert TrustLedgerInsufficientHardware(msg.sender, hw.memoryMiB, hw.throughput);
        }
        _checkRange(start, end);
        if (peerId.length == 0 || peerId.length > MAX_PEER_ID_BYTES) revert TrustLedgerInvalidPeerId(peerId.length);
        bytes32 peerHash = keccak256(peerId);
        address owner = _peerOwner[peerHash];
        if (owner != address(0)) revert TrustLedgerPeerIdTaken(peerId, owner);
        _checkAddrs(addrs);

        _peerOwner[peerHash] = msg.sender;
        s.stake = amount.toUint96();
        s.start = start;
        s.end = end;
        s.status = ServerStatus.Active;
        s.weight = DEFAULT_WEIGHT;
        s.trust = uint64(TrustMath.ONE); // trusted until a quorum says otherwise
        s.memoryMiB = hw.memoryMiB;
        s.throughput = hw.throughput;
        s.peerId = peerId;
        s.addrs = addrs;
        _serverSet.add(msg.sender);
        _addActive(msg.sender, end - start);
        emit ServerRegistered(msg.sender, start, end, peerId, amount);

        _pullStake(msg.sender, amount);
    }

    /// @notice Moves the caller's layer range (reassignment, paper §3.1). Requires an
    /// active server and a range inside the model. Emits {ServerLayersUpdated}.
    function updateLayers(uint16 start, uint16 end) external {
        ServerRecord storage s = _servers[msg.sender];
        if (s.status != ServerStatus.Active) revert TrustLedgerNotActive(msg.sender);
        _checkRange(start, end);
        _removeActive(msg.sender, s.end - s.start);
        s.start = start;
        s.end = end;
        _addActive(msg.sender, end - start);
        emit ServerLayersUpdated(msg.sender, start, end);
    }

    /// @notice Replaces the caller's multiaddrs (at most 8, each ≤ 256 bytes). Requires a
    /// registered server. Emits {ServerAddrsUpdated}.
    function updateAddrs(string[] calldata addrs) external {
        ServerRecord storage s = _servers[msg.sender];
        if (s.status == ServerStatus.None) revert TrustLedgerNotRegistered(msg.sender);
        _checkAddrs(addrs);
        s.addrs = addrs;
        emit ServerAddrsUpdated(msg.sender, addrs);
    }

    // --- verifiers ----------------------------------------------------------------------

    /// @notice Registers the caller as a Verifier, pulling `amount` ≥ minVerifierStake.
    /// Requires no existing registration in either role. Emits {VerifierRegistered}.
    function registerVerifier(uint256 amount) external nonReentrant {
        VerifierRecord storage v = _verifiers[msg.sender];
        if (v.status != VerifierStatus.None || _servers[msg.sender].status != ServerStatus.None) {
            revert TrustLedgerAlreadyRegistered(msg.sender);
        }
        uint256 minimum = _params.minVerifierStake;
        if (amount < minimum) revert TrustLedgerInsufficientStake(msg.sender, amount, minimum);
        v.stake = amount.toUint128();
        v.status = VerifierStatus.Active;
        _verifierSet.add(msg.sender);
        emit VerifierRegistered(msg.sender, amount);

        _pullStake(msg.sender, amount);
    }

    // --- stake (either role) ------------------------------------------------------------

    /// @notice Adds `amount` to the caller's bonded stake. Requires an active server or
    /// verifier. Emits {StakeAdded}.
    function addStake(uint256 amount) external nonReentrant {
        if (amount == 0) revert TrustLedgerZeroAmount();
        uint256 stake;
        if (_servers[msg.sender].status == ServerStatus.Active) {
            ServerRecord storage s = _servers[msg.sender];
            stake = s.stake + amount;
            s.stake = stake.toUint96();
        } else if (_verifiers[msg.sender].status == VerifierStatus.Active) {
            VerifierRecord storage v = _verifiers[msg.sender];
            stake = v.stake + amount;
            v.stake = stake.toUint128();
        } else {
            revert TrustLedgerNotActive(msg.sender);
        }
        emit StakeAdded(msg.sender, amount, stake);

        _pullStake(msg.sender, amount);
    }

    /// @notice Starts unbonding `amount` of the caller's stake. What stays must be 0 or at
    /// least the role's minimum; at 0 the caller stops serving (servers leave the route,
    /// their layers are uncovered). Unbonding stake stays slashable. Adding to a pending
    /// unbond restarts its delay. Emits {UnbondRequested} (and {LayersUncovered}).
    function requestUnbond(uint256 amount) external {
        if (amount == 0) revert TrustLedgerZeroAmount();
        uint64 epoch = currentEpoch(); // < 2^32 for 136 years even with 1-second epochs
        ServerRecord storage s = _servers[msg.sender];
        if (s.status != ServerStatus.None) {
            uint256 remaining = _checkUnbond(s.stake, amount, _params.minServerStake, s.status == ServerStatus.Active);
            s.stake = uint96(remaining); // ≤ old stake
            s.unbonding += uint128(amount); // amount ≤ old stake, which fit in uint128
            s.unbondEpoch = uint32(epoch);
            if (remaining == 0 && s.status == ServerStatus.Active) {
                s.status = ServerStatus.Exiting;
                _removeActive(msg.sender, s.end - s.start);
                emit LayersUncovered(msg.sender, s.start, s.end);
            }
        } else {
            VerifierRecord storage v = _verifiers[msg.sender];
            if (v.status == VerifierStatus.None) revert TrustLedgerNotRegistered(msg.sender);
            uint256 remaining =
                _checkUnbond(v.stake, amount, _params.minVerifierStake, v.status == VerifierStatus.Active);
            v.stake = uint128(remaining);
            v.unbonding += uint128(amount);
            v.unbondEpoch = uint32(epoch);
            if (remaining == 0) v.status = VerifierStatus.Exiting;
        }
        emit UnbondRequested(msg.sender, amount, epoch, epochEnd(epoch) + _params.unbondingDelay);
    }

    /// @notice Pays out the caller's unbonded stake once `epochEnd(unbondEpoch) +
    /// unbondingDelay` has passed. A caller left with no stake is unregistered (its peer id
    /// freed); unclaimed rewards stay claimable. Emits {Withdrawn}.
    function withdraw() external nonReentrant {
        uint256 amount;
        uint256 readyAt;
        ServerRecord storage s = _servers[msg.sender];
        if (s.status != ServerStatus.None) {
            amount = s.unbonding;
            readyAt = _checkWithdraw(amount, s.unbondEpoch);
            s.unbonding = 0;
            if (s.stake == 0 && s.status != ServerStatus.Active) _unregisterServer(msg.sender, s);
        } else {
            VerifierRecord storage v = _verifiers[msg.sender];
            if (v.status == VerifierStatus.None) revert TrustLedgerNotRegistered(msg.sender);
            amount = v.unbonding;
            readyAt = _checkWithdraw(amount, v.unbondEpoch);
            v.unbonding = 0;
            if (v.stake == 0) {
                uint96 fees = v.fees;
                delete _verifiers[msg.sender];
                _verifiers[msg.sender].fees = fees;
                _verifierSet.remove(msg.sender);
            }
        }
        emit Withdrawn(msg.sender, amount);

        _payOutStake(msg.sender, amount);
    }

    // --- settlement ---------------------------------------------------------------------

    /// @notice Settles `server` for `epoch` from a quorum of verifier reports (signers in
    /// strictly increasing address order). Requires the epoch to have ended and its
    /// settlement window (the next epoch) to be open, the server to be settleable and not yet
    /// settled for it, and ≥ q reports that count: signed over this chain's and this ledger's
    /// EIP-712 domain by distinct active verifiers (other reports are not counted). Emits {EpochSettled}, and
    /// {ServerDeactivated}/{LayersUncovered} when S_i < θ, {VerifierStruck}/{VerifierSlashed}
    /// for outlying reports, {EpochFunded}/{RewardCredited} as budgets move.
    function submitEpoch(uint64 epoch, address server, Report[] calldata reports) external {
        _checkEpochOpen(epoch);
        _settle(epoch, server, reports, _params);
    }

    /// @notice {submitEpoch} for several servers of one epoch in one transaction (cheaper
    /// per server: the transaction and verifier records are paid for once).
    function submitEpochs(uint64 epoch, address[] calldata servers, Report[][] calldata reports) external {
        if (servers.length != reports.length) revert TrustLedgerLengthMismatch(servers.length, reports.length);
        _checkEpochOpen(epoch);
        Params memory p = _params;
        for (uint256 i = 0; i < servers.length; ++i) {
            _settle(epoch, servers[i], reports[i], p);
        }
    }

    // --- rewards ------------------------------------------------------------------------

    /// @notice Adds `amount` of the token to the reward pool. Emits {RewardsFunded}.
    function fundRewards(uint256 amount) external nonReentrant {
        if (amount == 0) revert TrustLedgerZeroAmount();
        _fund(msg.sender, amount);
    }

    /// @notice Pays the caller every reward and fee credited to it, first crediting its
    /// share of its last settled epoch if that epoch is final. Emits {RewardsClaimed}.
    /// @return amount the tokens sent.
    function claim() external nonReentrant returns (uint256 amount) {
        ServerRecord storage s = _servers[msg.sender];
        _realize(msg.sender, s);
        amount = uint256(s.rewards) + _verifiers[msg.sender].fees;
        if (amount == 0) revert TrustLedgerNothingToClaim(msg.sender);
        s.rewards = 0;
        _verifiers[msg.sender].fees = 0;
        emit RewardsClaimed(msg.sender, amount);

        _payOutRewards(msg.sender, amount);
    }

    // --- views --------------------------------------------------------------------------

    /// @notice The epoch the chain is in now.
    function currentEpoch() public view returns (uint64) {
        return uint64((block.timestamp - genesis) / epochLength);
    }

    /// @notice The first second after `epoch`.
    function epochEnd(uint64 epoch) public view returns (uint256) {
        return genesis + (uint256(epoch) + 1) * epochLength;
    }

    /// @notice The governance parameters.
    function params() external view returns (Params memory) {
        return _params;
    }

    /// @notice The model served: its hash and layer count L.
    function model() external view returns (bytes32 modelHash, uint16 numLayers) {
        return (_modelHash, _numLayers);
    }

    /// @notice max(l) over active servers (Eq. 3's normaliser).
    function maxActiveLayers() external view returns (uint16) {
        return _maxActiveLayers;
    }

    /// @notice The EIP-712 digest a verifier signs for one attestation.
    function attestationDigest(uint64 epoch, address server, uint32 accBps, uint32 probes, uint64 tokensServed)
        public
        view
        returns (bytes32)
    {
        bytes32 typeHash = ATTESTATION_TYPEHASH;
        bytes32 structHash;
        // keccak256(abi.encode(typeHash, epoch, server, accBps, probes, tokensServed)), built past
        // the free memory pointer instead of allocating: this runs once per signature.
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            mstore(add(m, 0x20), and(epoch, 0xffffffffffffffff))
            mstore(add(m, 0x40), and(server, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(m, 0x60), and(accBps, 0xffffffff))
            mstore(add(m, 0x80), and(probes, 0xffffffff))
            mstore(add(m, 0xa0), and(tokensServed, 0xffffffffffffffff))
            structHash := keccak256(m, 0xc0)
        }
        return _hashTypedDataV4(structHash);
    }

    /// @notice One server's record (status None when unknown).
    function getServer(address server) public view returns (ServerView memory) {
        ServerRecord storage s = _servers[server];
        return ServerView({
            account: server,
            status: s.status,
            start: s.start,
            end: s.end,
            trust: s.trust,
            weight: s.weight,
            stake: s.stake,
            unbonding: s.unbonding,
            unbondEpoch: s.unbondEpoch,
            lastSettledEpoch: s.lastSettled == 0 ? type(uint64).max : uint64(s.lastSettled - 1),
            memoryMiB: s.memoryMiB,
            throughput: s.throughput,
            pendingRewards: pendingRewards(server),
            peerId: s.peerId,
            addrs: s.addrs
        });
    }

    /// @notice One verifier's record (status None when unknown).
    function getVerifier(address verifier) external view returns (VerifierView memory) {
        VerifierRecord storage v = _verifiers[verifier];
        return VerifierView({
            account: verifier,
            status: v.status,
            stake: v.stake,
            unbonding: v.unbonding,
            unbondEpoch: v.unbondEpoch,
            strikes: v.strikes,
            pendingRewards: pendingRewards(verifier)
        });
    }

    /// @notice Every active server with its range, peer id, addrs and S_i: what a Client routes over.
    function activeServers() external view returns (ServerView[] memory views) {
        uint256 n = _activeSet.length();
        views = new ServerView[](n);
        for (uint256 i = 0; i < n; ++i) {
            views[i] = getServer(_activeSet.at(i));
        }
    }

    /// @notice Every registered server address (any status).
    function allServers() external view returns (address[] memory) {
        return _serverSet.values();
    }

    /// @notice Every registered verifier address.
    function allVerifiers() external view returns (address[] memory) {
        return _verifierSet.values();
    }

    /// @notice How many active servers cover each layer of [0, L).
    function coverage() public view returns (uint16[] memory counts) {
        counts = new uint16[](_numLayers);
        uint256 n = _activeSet.length();
        for (uint256 i = 0; i < n; ++i) {
            ServerRecord storage s = _servers[_activeSet.at(i)];
            uint256 end = s.end < _numLayers ? s.end : _numLayers;
            for (uint256 l = s.start; l < end; ++l) {
                ++counts[l];
            }
        }
    }

    /// @notice Rewards and fees `account` could claim now.
    function pendingRewards(address account) public view returns (uint256) {
        ServerRecord storage s = _servers[account];
        return uint256(s.rewards) + _realizable(s.lastSettled, s.pendingPoints) + _verifiers[account].fees;
    }

    // --- internal -----------------------------------------------------------------------

    function _settle(uint64 epoch, address server, Report[] calldata reports, Params memory p) internal {
        ServerRecord storage s = _servers[server];
        ServerStatus status = s.status;
        if (status != ServerStatus.Active && !(status == ServerStatus.Exiting && epoch <= s.unbondEpoch)) {
            revert TrustLedgerServerNotSettleable(server, status);
        }
        uint32 lastSettled = s.lastSettled;
        if (lastSettled > epoch) revert TrustLedgerAlreadySettled(server, epoch);
        (uint256 acc, uint64 tokensServed, uint256 fees) = _tally(epoch, server, reports, p);

        // the previous settled epoch is final by now: credit its share first
        // (reported in EpochSettled.credited: one log per settlement instead of two)
        uint256 credited = _realizable(lastSettled, s.pendingPoints);
        if (credited != 0) s.rewards += SafeCast.toUint96(credited); // ≤ a budget ≤ uint96 max (setParams)
        uint16 layers = s.end - s.start;
        uint256 maxLayers = _maxActiveLayers > layers ? _maxActiveLayers : layers;
        uint256 weight = p.sizeNeutralWeights ? TrustMath.sizeNeutralWeight(layers, maxLayers) : s.weight;
        uint64 score = TrustMath.trustScore(acc, layers, maxLayers, weight);
        bool active = TrustMath.isActive(score, p.theta);
        uint128 points = active ? uint128(score) * tokensServed : 0; // < 2^60 · 2^64: fits
        s.trust = score;
        s.lastSettled = uint32(epoch + 1); // epoch < current < 2^32 (see requestUnbond)
        s.pendingPoints = points;
        emit EpochSettled(epoch, server, uint32(acc), score, tokensServed, active, credited);

        if (points != 0) {
            EpochPool storage pool = _epochs[epoch];
            if (!pool.reserved) {
                pool.reserved = true;
                pool.budget = uint120(_reserve(p.rewardPerEpoch)); // ≤ uint96 max (setParams)
                emit EpochFunded(epoch, pool.budget);
            }
            pool.points += points;
        }
        _book(fees, credited);
        if (!active) _deactivate(server, s, epoch, score);
    }

    /// @dev Verifies the reports and returns the median accuracy and work, and the fees paid
    /// to in-band signers (out-of-band ones get a strike instead). A report whose signer is not
    /// an eligible verifier now (never registered, exiting, slashed under the minimum — even
    /// earlier in this very batch — or a signature made for another domain, which recovers to
    /// a stranger) does not count; malformed input reverts. At least q reports must count.
    function _tally(uint64 epoch, address server, Report[] calldata reports, Params memory p)
        internal
        returns (uint256 acc, uint64 tokensServed, uint256 fees)
    {
        uint256 n = reports.length;
        if (n < p.quorum) revert TrustLedgerQuorumNotReached(n, p.quorum);
        address[] memory signers = new address[](n);
        uint256[] memory accs = new uint256[](n);
        uint256[] memory sorted = new uint256[](n);
        uint256[] memory work = new uint256[](n);
        uint256 count;
        address previous;
        for (uint256 i = 0; i < n; ++i) {
            Report calldata r = reports[i];
            (address signer, bool eligible) = _signer(epoch, server, r, previous, p.minVerifierStake);
            if (!eligible) continue;
            previous = signer;
            signers[count] = signer;
            accs[count] = r.accBps;
            sorted[count] = r.accBps;
            work[count] = r.tokensServed;
            ++count;
        }
        if (count < p.quorum) revert TrustLedgerQuorumNotReached(count, p.quorum);
        // shrink to the reports that count (count ≤ n: only ever shortens the arrays)
        assembly ("memory-safe") {
            mstore(sorted, count)
            mstore(work, count)
        }
        acc = TrustMath.median(sorted);
        tokensServed = uint64(TrustMath.median(work)); // a median of uint64 values fits
        uint256 pool = rewardPool;
        for (uint256 i = 0; i < count; ++i) {
            if (TrustMath.absDiff(accs[i], acc) > p.deviationBps) {
                _strike(signers[i], epoch, server, p);
            } else if (pool - fees >= p.verifierFee) {
                fees += p.verifierFee;
                _verifiers[signers[i]].fees += uint96(p.verifierFee); // ≤ uint96 max (setParams)
            }
        }
    }

    /// @dev The signer of `r` and whether it is an active verifier with at least `minStake`;
    /// an eligible signer must sort after the `previous` eligible one (no duplicates).
    function _signer(uint64 epoch, address server, Report calldata r, address previous, uint256 minStake)
        internal
        view
        returns (address signer, bool eligible)
    {
        uint32 acc = r.accBps;
        if (acc > TrustMath.BPS) revert TrustLedgerInvalidAccuracy(acc);
        signer = ECDSA.recover(attestationDigest(epoch, server, acc, r.probes, r.tokensServed), r.r, r.vs);
        VerifierRecord storage v = _verifiers[signer];
        eligible = v.status == VerifierStatus.Active && v.stake >= minStake;
        if (!eligible) return (signer, false);
        if (signer == previous) revert TrustLedgerDuplicateSigner(signer);
        if (signer < previous) revert TrustLedgerUnsortedSigners(previous, signer);
    }

    function _strike(address verifier, uint64 epoch, address server, Params memory p) internal {
        VerifierRecord storage v = _verifiers[verifier];
        uint16 strikes = v.strikes + 1;
        emit VerifierStruck(verifier, epoch, server, strikes);
        if (strikes >= p.strikeLimit) {
            (uint256 stakeCut, uint256 unbondingCut) = _slash(v.stake, v.unbonding, p.slashShareBps);
            v.stake -= uint128(stakeCut); // cuts are shares of these fields
            v.unbonding -= uint128(unbondingCut);
            v.strikes = 0;
            emit VerifierSlashed(verifier, stakeCut + unbondingCut);
        } else {
            v.strikes = strikes;
        }
    }

    function _deactivate(address server, ServerRecord storage s, uint64 epoch, uint64 score) internal {
        if (s.status == ServerStatus.Active) {
            _removeActive(server, s.end - s.start);
            emit LayersUncovered(server, s.start, s.end);
        }
        s.status = ServerStatus.Deactivated;
        (uint256 stakeCut, uint256 unbondingCut) = _slash(s.stake, s.unbonding, _params.slashShareBps);
        s.stake -= uint96(stakeCut); // a share of the stake
        s.unbonding -= uint128(unbondingCut);
        emit ServerDeactivated(server, epoch, score, stakeCut + unbondingCut);
    }

    /// @dev Credits the server's share of its last settled epoch once that epoch is final.
    function _realize(address server, ServerRecord storage s) internal {
        uint32 lastSettled = s.lastSettled;
        uint256 reward = _realizable(lastSettled, s.pendingPoints);
        if (s.pendingPoints == 0 || !_isFinal(lastSettled - 1)) return;
        s.pendingPoints = 0;
        if (reward == 0) return;
        s.rewards += SafeCast.toUint96(reward); // a share of a budget ≤ uint96 max (setParams)
        _book(0, reward);
        emit RewardCredited(server, lastSettled - 1, reward);
    }

    /// @dev The reward for `points` in epoch `lastSettled − 1`, or 0 while it is not final.
    function _realizable(uint32 lastSettled, uint128 points) internal view returns (uint256) {
        if (points == 0) return 0;
        uint64 epoch = lastSettled - 1;
        if (!_isFinal(epoch)) return 0;
        EpochPool storage pool = _epochs[epoch];
        return (uint256(pool.budget) * points) / pool.points; // rounds down: Σ ≤ budget
    }

    function _isFinal(uint64 epoch) internal view returns (bool) {
        return currentEpoch() >= epoch + 2;
    }

    function _checkEpochOpen(uint64 epoch) internal view {
        uint64 current = currentEpoch();
        if (epoch >= current) revert TrustLedgerEpochNotEnded(epoch, current);
        if (epoch + 1 != current) revert TrustLedgerSettlementClosed(epoch, current);
    }

    function _checkRange(uint16 start, uint16 end) internal view {
        if (start >= end || end > _numLayers) revert TrustLedgerInvalidLayerRange(start, end, _numLayers);
    }

    function _checkAddrs(string[] calldata addrs) internal pure {
        if (addrs.length > MAX_ADDRS) revert TrustLedgerInvalidAddrs(addrs.length);
        for (uint256 i = 0; i < addrs.length; ++i) {
            uint256 len = bytes(addrs[i]).length;
            if (len == 0 || len > MAX_ADDR_BYTES) revert TrustLedgerInvalidAddrs(addrs.length);
        }
    }

    function _checkUnbond(uint256 stake, uint256 amount, uint256 minimum, bool enforceMinimum)
        internal
        view
        returns (uint256 remaining)
    {
        if (amount > stake) revert TrustLedgerUnbondTooLarge(msg.sender, amount, stake);
        remaining = stake - amount;
        if (enforceMinimum && remaining != 0 && remaining < minimum) {
            revert TrustLedgerInsufficientStake(msg.sender, remaining, minimum);
        }
    }

    function _checkWithdraw(uint256 amount, uint32 unbondEpoch) internal view returns (uint256 readyAt) {
        if (amount == 0) revert TrustLedgerNothingUnbonding(msg.sender);
        readyAt = epochEnd(unbondEpoch) + _params.unbondingDelay;
        if (block.timestamp < readyAt) revert TrustLedgerUnbondingNotReady(msg.sender, readyAt);
    }

    function _unregisterServer(address server, ServerRecord storage s) internal {
        _realize(server, s);
        if (s.pendingPoints != 0) return; // its last epoch is not final yet: keep the record
        uint96 rewards = s.rewards;
        delete _peerOwner[keccak256(s.peerId)];
        delete _servers[server];
        _servers[server].rewards = rewards;
        _serverSet.remove(server);
    }

    function _addActive(address server, uint16 layers) internal {
        _activeSet.add(server);
        ++_activeByLength[layers];
        if (layers > _maxActiveLayers) _maxActiveLayers = layers;
    }

    function _removeActive(address server, uint16 layers) internal {
        _activeSet.remove(server);
        --_activeByLength[layers];
        if (layers == _maxActiveLayers && _activeByLength[layers] == 0) {
            uint16 m = layers;
            while (m > 0 && _activeByLength[m] == 0) --m;
            _maxActiveLayers = m;
        }
    }

    function _setParams(Params memory p) internal {
        if (p.quorum == 0) revert TrustLedgerInvalidParams("quorum");
        if (p.theta > TrustMath.ONE) revert TrustLedgerInvalidParams("theta");
        if (p.slashShareBps > BPS) revert TrustLedgerInvalidParams("slashShareBps");
        if (p.deviationBps > BPS) revert TrustLedgerInvalidParams("deviationBps");
        if (p.strikeLimit == 0) revert TrustLedgerInvalidParams("strikeLimit");
        if (p.unbondingDelay < epochLength) revert TrustLedgerInvalidParams("unbondingDelay");
        if (p.verifierFee > type(uint96).max) revert TrustLedgerInvalidParams("verifierFee");
        if (p.minServerStake > type(uint96).max || p.minVerifierStake > type(uint128).max) {
            revert TrustLedgerInvalidParams("minStake");
        }
        if (p.rewardPerEpoch > type(uint96).max) revert TrustLedgerInvalidParams("rewardPerEpoch");
        _params = p;
        emit ParamsUpdated(p);
    }
}
