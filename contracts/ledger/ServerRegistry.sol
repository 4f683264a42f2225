// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {PeerKey} from "../libraries/PeerKey.sol";
import {VerifierCommittee} from "./VerifierCommittee.sol";

/// @title ServerRegistry
/// @notice Servers: registration with a proof of the peer key, layer ranges and max(l)
/// checkpointed per epoch (a change made in epoch c counts from c+1), the active set
/// (paginated) and coverage kept as per-layer differences (O(L) to read, not O(servers)).
abstract contract ServerRegistry is VerifierCommittee {
    using Checkpoints for Checkpoints.Trace208;
    using EnumerableSet for EnumerableSet.AddressSet;

    bytes32 public constant PEER_BINDING_TYPEHASH = keccak256("PeerBinding(address server)");

    /// @dev Units of the stored trust: S_i (1e18) is kept to 9 decimals, so that everything a
    /// settlement of an active server reads and writes is in one slot.
    uint256 internal constant TRUST_UNIT = 1e9;

    // Slot A is all that a settlement of an active server reads and writes (one cold slot);
    // EpochSettlement._packSlotA depends on its layout.
    struct ServerRecord {
        ServerStatus status; // slot A
        uint32 trust; // S_i of the last settlement, in TRUST_UNITs (≤ 1e9)
        uint32 lastSettled; // last settled epoch + 1 (0: never)
        uint32 sinceEpoch; // first epoch it can be settled for
        uint56 pendingPoints; // S_i (bps) × tokens of the last settled epoch, not yet credited (< 2^46)
        uint96 rewards; // credited, claimable
        uint16 start; // slot B: latest range, in effect from rangeFrom
        uint16 end;
        uint32 rangeFrom;
        uint32 activeUntil; // first epoch it is no longer settleable for (max while Active)
        uint32 memoryMiB;
        uint32 throughput;
        address peerSigner;
        bytes peerId;
        string[] addrs;
    }

    mapping(address server => ServerRecord) internal _servers;
    mapping(address server => Checkpoints.Trace208) private _ranges; // start << 16 | end
    mapping(address peerSigner => address server) private _serverOfSigner;
    mapping(uint256 layers => uint256 count) private _activeByLength;
    mapping(uint256 layer => int256 delta) private _coverDelta;
    Checkpoints.Trace208 private _maxLayers;
    uint16 private _maxActiveLayers;
    EnumerableSet.AddressSet private _serverSet;
    EnumerableSet.AddressSet private _activeSet;

    /// @notice Registers the caller as a Server for layers [start, end) from the next epoch,
    /// pulling `amount` stake. `peerId` must be a secp256k1 libp2p peer id and `peerSig` the
    /// EIP-712 `PeerBinding(address server)` signature of its key for the caller. Requires stake
    /// ≥ minServerStake, hardware ≥ the admission threshold, a range inside the model, a peer key
    /// not bound to another server, at most 8 addrs, and no registration in either role (a server
    /// that left with nothing bonded and nothing pending may register again; its history stays).
    /// Emits {ServerRegistered}, {StakeChanged}.
    function registerServer(
        uint256 amount,
        uint16 start,
        uint16 end,
        bytes calldata peerId,
        string[] calldata addrs,
        Hardware calldata hw,
        bytes calldata peerSig
    ) external virtual nonReentrant {
        ServerRecord storage s = _servers[msg.sender];
        Bond storage b = _bondOf(msg.sender);
        bool returning = s.status != ServerStatus.None && s.status != ServerStatus.Active
            && b.stake == 0 && b.unbonding == 0 && b.locks == 0;
        if ((s.status != ServerStatus.None && !returning) || _isVerifier(msg.sender)) {
            revert TrustLedgerAlreadyRegistered(msg.sender);
        }
        uint64 current = currentEpoch();
        Params memory p = paramsAt(current);
        if (amount < p.minServerStake) revert TrustLedgerInsufficientStake(msg.sender, amount, p.minServerStake);
        _checkHardware(hw.memoryMiB, hw.throughput, p);
        _checkRange(start, end);
        _checkAddrs(addrs);
        address peerSigner = _checkPeerBinding(peerId, peerSig);

        _serverOfSigner[peerSigner] = msg.sender;
        s.status = ServerStatus.Active;
        s.trust = uint32(TRUST_UNIT); // S_i = 1: trusted until a committee says otherwise
        s.activeUntil = type(uint32).max;
        s.sinceEpoch = uint32(current + 1); // epochs fit uint32 for 136 years of 1-second epochs
        s.memoryMiB = hw.memoryMiB;
        s.throughput = hw.throughput;
        s.peerSigner = peerSigner;
        s.peerId = peerId;
        s.addrs = addrs;
        _setRange(msg.sender, s, start, end, current + 1);
        _serverSet.add(msg.sender);
        _activate(msg.sender, s);
        emit ServerRegistered(msg.sender, start, end, peerId, peerSigner, amount);

        _bond(msg.sender, amount);
    }

    /// @notice Moves the caller's layer range (reassignment, paper §3.1) from the next epoch;
    /// settlements of this and earlier epochs keep the old range. Requires an active server, a
    /// range inside the model and its hardware still at the admission threshold in effect.
    /// Emits {ServerLayersUpdated}.
    function updateLayers(uint16 start, uint16 end) external virtual {
        ServerRecord storage s = _servers[msg.sender];
        if (s.status != ServerStatus.Active) revert TrustLedgerNotActive(msg.sender);
        uint64 current = currentEpoch();
        _checkHardware(s.memoryMiB, s.throughput, paramsAt(current));
        _checkRange(start, end);
        _deactivateCounts(s);
        _setRange(msg.sender, s, start, end, current + 1);
        _activateCounts(s);
        emit ServerLayersUpdated(msg.sender, start, end, current + 1);
    }

    /// @notice Replaces the caller's multiaddrs (at most 8, each ≤ 256 bytes). Requires a
    /// registered server. Emits {ServerAddrsUpdated}.
    function updateAddrs(string[] calldata addrs) external virtual {
        ServerRecord storage s = _servers[msg.sender];
        if (s.status == ServerStatus.None) revert TrustLedgerNotRegistered(msg.sender);
        _checkAddrs(addrs);
        s.addrs = addrs;
        emit ServerAddrsUpdated(msg.sender, addrs);
    }

    /// @notice The EIP-712 digest a peer key signs to bind itself to `server`.
    function peerBindingDigest(address server) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(PEER_BINDING_TYPEHASH, server)));
    }

    /// @notice The server whose peer key is `peerSigner` (zero when none).
    function serverOfPeerSigner(address peerSigner) external view returns (address) {
        return _serverOfSigner[peerSigner];
    }

    /// @notice `server`'s layer range during `epoch`.
    function rangeAt(address server, uint64 epoch) public view returns (uint16 start, uint16 end) {
        ServerRecord storage s = _servers[server];
        if (epoch >= s.rangeFrom) return (s.start, s.end);
        uint256 packed = _ranges[server].upperLookupRecent(uint48(epoch));
        return (uint16(packed >> 16), uint16(packed));
    }

    /// @notice max(l) over the servers active during `epoch` (Eq. 3's normaliser).
    function maxLayersAt(uint64 epoch) public view returns (uint16) {
        return uint16(_maxLayers.upperLookupRecent(uint48(epoch)));
    }

    /// @notice How many active servers cover each layer of [0, L) (latest ranges).
    function coverage() external virtual view returns (uint256[] memory counts) {
        uint256 L = _numLayers;
        counts = new uint256[](L);
        int256 running;
        for (uint256 l = 0; l < L; ++l) {
            running += _coverDelta[l];
            counts[l] = uint256(running); // a count of ranges that started and did not end
        }
    }

    function activeServerCount() external view returns (uint256) {
        return _activeSet.length();
    }

    /// @notice Active servers [offset, offset + limit): what a Client routes over.
    function activeServersPage(uint256 offset, uint256 limit) external virtual view returns (ServerView[] memory) {
        return _page(_activeSet, offset, limit);
    }

    function serverCount() external view returns (uint256) {
        return _serverSet.length();
    }

    /// @notice Registered servers (any status) [offset, offset + limit).
    function serversPage(uint256 offset, uint256 limit) external virtual view returns (ServerView[] memory) {
        return _page(_serverSet, offset, limit);
    }

    /// @notice Whether `server`'s last settlement is for `epoch` or later.
    function settled(uint64 epoch, address server) external view returns (bool) {
        return _servers[server].lastSettled > epoch;
    }

    /// @dev Takes `server` off routes (its layers are uncovered) and out of settlement after
    /// this epoch; `status` says why (Exiting, Deactivated or Slashed).
    function _retire(address server, ServerRecord storage s, ServerStatus status) internal {
        if (s.status == ServerStatus.Active) {
            _activeSet.remove(server);
            _deactivateCounts(s);
            s.activeUntil = uint32(currentEpoch() + 1);
            emit LayersUncovered(server, s.start, s.end);
        }
        s.status = status;
    }

    /// @dev Puts a deactivated `server` back on routes, settleable from the next epoch.
    function _reactivate(address server, ServerRecord storage s) internal {
        uint64 from = currentEpoch() + 1;
        s.sinceEpoch = uint32(from);
        s.activeUntil = type(uint32).max;
        s.status = ServerStatus.Active;
        _activate(server, s);
        emit ServerReactivated(server, from);
    }

    function _serverOf(address peerSigner) internal view returns (address) {
        return _serverOfSigner[peerSigner];
    }

    function _isServer(address account) internal view override returns (bool) {
        return _servers[account].status != ServerStatus.None;
    }

    function _activeServerCount() internal view override returns (uint256) {
        return _activeSet.length();
    }

    function _serverView(address server) internal view virtual returns (ServerView memory);

    function _activate(address server, ServerRecord storage s) private {
        _activeSet.add(server);
        _activateCounts(s);
    }

    function _activateCounts(ServerRecord storage s) private {
        uint16 layers = s.end - s.start;
        ++_activeByLength[layers];
        ++_coverDelta[s.start];
        --_coverDelta[s.end];
        if (layers > _maxActiveLayers) _setMaxLayers(layers);
    }

    function _deactivateCounts(ServerRecord storage s) private {
        uint16 layers = s.end - s.start;
        --_activeByLength[layers];
        --_coverDelta[s.start];
        ++_coverDelta[s.end];
        if (layers == _maxActiveLayers && _activeByLength[layers] == 0) {
            uint16 m = layers;
            while (m > 0 && _activeByLength[m] == 0) --m;
            _setMaxLayers(m);
        }
    }

    function _setMaxLayers(uint16 m) private {
        _maxActiveLayers = m;
        _maxLayers.push(uint48(currentEpoch() + 1), m);
    }

    function _setRange(address server, ServerRecord storage s, uint16 start, uint16 end, uint64 from) private {
        _ranges[server].push(uint48(from), (uint208(start) << 16) | end); // same epoch: replaces
        s.start = start;
        s.end = end;
        s.rangeFrom = uint32(from);
    }

    function _checkPeerBinding(bytes calldata peerId, bytes calldata peerSig) private view returns (address peerSigner) {
        PeerKey.Result result;
        (peerSigner, result) = PeerKey.signerOf(peerId);
        if (result == PeerKey.Result.Unsupported) revert TrustLedgerUnsupportedPeerId(peerId);
        if (result == PeerKey.Result.NotOnCurve) revert TrustLedgerInvalidPeerKey(peerId);
        (address recovered,,) = ECDSA.tryRecover(peerBindingDigest(msg.sender), peerSig);
        if (recovered != peerSigner) revert TrustLedgerPeerBindingInvalid(msg.sender, recovered, peerSigner);
        address owner = _serverOfSigner[peerSigner];
        if (owner != address(0) && owner != msg.sender) revert TrustLedgerPeerIdTaken(peerSigner, owner);
    }

    function _checkHardware(uint32 memoryMiB, uint32 throughput, Params memory p) private view {
        if (memoryMiB < p.minMemoryMiB || throughput < p.minThroughput) {
            revert TrustLedgerInsufficientHardware(msg.sender, memoryMiB, throughput);
        }
    }

    function _checkRange(uint16 start, uint16 end) private view {
        if (start >= end || end > _numLayers) revert TrustLedgerInvalidLayerRange(start, end, _numLayers);
    }

    function _page(EnumerableSet.AddressSet storage set, uint256 offset, uint256 limit)
        private
        view
        returns (ServerView[] memory views)
    {
        uint256 end = _pageEnd(set.length(), offset, limit);
        views = new ServerView[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            views[i - offset] = _serverView(set.at(i));
        }
    }
}
