// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EpochSettlement} from "./EpochSettlement.sol";

/// @title Evidence
/// @notice Slashing on evidence only. A receipt signed by a server's peer key, shown wrong by
/// ≥ 2/3 of its epoch's committee stake, opens a pending slash: the server leaves the routes at
/// once and cannot withdraw. During the challenge window ≥ 2/3 of the current committee can
/// refute it (the server comes back, each evidence signer gets a strike); after it, anyone
/// executes it (slashShareBps of stake + unbonding and all unclaimed rewards go to the
/// treasury). Receipt signatures are over sha256(EIP-712 digest). Two signed receipts for the same step with different outputs are a proof:
/// anyone can slash on them at once.
abstract contract Evidence is EpochSettlement {
    bytes32 public constant RECEIPT_TYPEHASH = keccak256(
        "Receipt(bytes32 session,uint16 start,uint16 end,uint32 pos,uint32 n,uint64 epoch,bytes32 inputDigest,bytes32 outputDigest,bytes32 commitDigest,bytes32 prev,bytes32 upstream)"
    );
    bytes32 public constant EVIDENCE_TYPEHASH =
        keccak256("Evidence(address server,bytes32 receiptHash,bytes32 recordHash)");
    bytes32 public constant REFUTATION_TYPEHASH = keccak256("Refutation(bytes32 slashId)");

    struct Slash {
        address server;
        SlashState state;
        bool wasActive;
        uint64 executableFrom; // first epoch it can be executed in
        address[] signers; // the evidence signers, struck if it is refuted
    }

    mapping(bytes32 slashId => Slash) private _slashes;
    mapping(bytes32 pairId => bool) private _equivocations;

    /// @notice Opens a pending slash of the server whose peer key signed `r`, on evidence
    /// (off-chain record `recordHash`) co-signed as EIP-712 `Evidence` by `signers` (strictly
    /// increasing) holding ≥ 2/3 of the committee stake of `r.epoch`. Requires r.epoch ended
    /// and within the evidence window, and no slash on the same receipt yet. The server leaves
    /// the routes now. Emits {EvidenceSubmitted}, {LayersUncovered}.
    /// @return slashId keccak256(abi.encode(server, receiptHash)).
    function submitEvidence(
        Receipt calldata r,
        bytes calldata receiptSig,
        bytes32 recordHash,
        address[] calldata signers,
        bytes[] calldata sigs
    ) external virtual returns (bytes32 slashId) {
        bytes32 rh = _receiptHash(r);
        address server = _receiptServer(rh, receiptSig);
        uint64 current = currentEpoch();
        Params memory p = paramsAt(current);
        if (r.epoch >= current || r.epoch + p.evidenceWindowEpochs < current) {
            revert TrustLedgerEvidenceExpired(r.epoch, current);
        }
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(EVIDENCE_TYPEHASH, server, rh, recordHash)));
        _checkCommitteeSignatures(r.epoch, digest, signers, sigs);
        slashId = keccak256(abi.encode(server, rh));
        Slash storage sl = _slashes[slashId];
        if (sl.state != SlashState.None) revert TrustLedgerSlashExists(slashId);
        ServerRecord storage s = _servers[server];
        sl.server = server;
        sl.state = SlashState.Pending;
        sl.wasActive = s.status == ServerStatus.Active;
        sl.executableFrom = current + p.challengeEpochs;
        sl.signers = signers;
        _lock(server);
        if (s.status == ServerStatus.Active) _retire(server, s, ServerStatus.Deactivated);
        emit EvidenceSubmitted(slashId, server, rh, recordHash, sl.executableFrom);
    }

    /// @notice Cancels pending slash `slashId` with EIP-712 `Refutation(slashId)` signatures of
    /// ≥ 2/3 of the current committee stake, during the challenge window. The server is back on
    /// routes from the next epoch if the evidence took it off and nothing else is pending; each
    /// evidence signer gets a strike (their evidence was shown false). Emits {SlashRefuted},
    /// {ServerReactivated}, {VerifierStruck}.
    function refuteSlash(bytes32 slashId, address[] calldata signers, bytes[] calldata sigs) external virtual nonReentrant {
        Slash storage sl = _pending(slashId);
        uint64 current = currentEpoch();
        if (current >= sl.executableFrom) revert TrustLedgerChallengeClosed(slashId, sl.executableFrom);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(REFUTATION_TYPEHASH, slashId)));
        _checkCommitteeSignatures(current, digest, signers, sigs);
        address server = sl.server;
        sl.state = SlashState.Refuted;
        _unlock(server);
        emit SlashRefuted(slashId, server);
        ServerRecord storage s = _servers[server];
        if (sl.wasActive && s.status == ServerStatus.Deactivated && _bondOf(server).locks == 0 && _bondOf(server).stake != 0) {
            _reactivate(server, s);
        }
        address[] memory struck = sl.signers;
        for (uint256 i = 0; i < struck.length; ++i) {
            _strike(struck[i], current);
        }
    }

    /// @notice Executes pending slash `slashId` once its challenge window has passed. Anyone.
    /// Emits {ServerSlashed}.
    function executeSlash(bytes32 slashId) external virtual nonReentrant {
        Slash storage sl = _pending(slashId);
        if (currentEpoch() < sl.executableFrom) revert TrustLedgerChallengeOpen(slashId, sl.executableFrom);
        sl.state = SlashState.Executed;
        _unlock(sl.server);
        _slashServer(sl.server, slashId);
    }

    /// @notice Slashes the server whose peer key signed both `a` and `b`: the same step
    /// (session, range, pos, n, input, prev) with different outputs. Anyone, once per pair.
    /// Emits {EquivocationProven}, {ServerSlashed}, {LayersUncovered}.
    function slashEquivocation(Receipt calldata a, bytes calldata sigA, Receipt calldata b, bytes calldata sigB)
        external virtual
        nonReentrant
    {
        bytes32 ha = _receiptHash(a);
        bytes32 hb = _receiptHash(b);
        address server = _receiptServer(ha, sigA);
        if (_receiptServer(hb, sigB) != server) revert TrustLedgerNotEquivocation();
        if (
            a.session != b.session || a.start != b.start || a.end != b.end || a.pos != b.pos || a.n != b.n
                || a.inputDigest != b.inputDigest || a.prev != b.prev || a.outputDigest == b.outputDigest
        ) revert TrustLedgerNotEquivocation();
        bytes32 pairId = ha < hb ? keccak256(abi.encode(ha, hb)) : keccak256(abi.encode(hb, ha));
        if (_equivocations[pairId]) revert TrustLedgerEquivocationUsed(pairId);
        _equivocations[pairId] = true;
        emit EquivocationProven(server, ha, hb);
        _slashServer(server, pairId);
    }

    /// @notice The EIP-712 struct hash of a receipt (what Evidence signs as receiptHash).
    function receiptHash(Receipt calldata r) external pure virtual returns (bytes32) {
        return _receiptHash(r);
    }

    /// @notice The EIP-712 digest of a receipt (its peer key signs sha256 of it, {receiptSigningHash}).
    function receiptDigest(Receipt calldata r) external virtual view returns (bytes32) {
        return _hashTypedDataV4(_receiptHash(r));
    }

    /// @notice What a server's peer key actually signs for a receipt: sha256 of its EIP-712
    /// digest (the form OpenSSL signs natively).
    function receiptSigningHash(Receipt calldata r) external virtual view returns (bytes32) {
        return sha256(abi.encodePacked(_hashTypedDataV4(_receiptHash(r))));
    }

    /// @notice A slash: its server, state, first epoch it can be executed in, evidence signers.
    function getSlash(bytes32 slashId)
        external virtual
        view
        returns (address server, SlashState state, uint64 executableFrom, address[] memory signers)
    {
        Slash storage sl = _slashes[slashId];
        return (sl.server, sl.state, sl.executableFrom, sl.signers);
    }

    /// @dev A registration is slashed once: further proven lies of a server already slashed
    /// (several audits caught it before the first slash executed) settle their slash at zero.
    function _slashServer(address server, bytes32 slashId) private {
        ServerRecord storage s = _servers[server];
        if (s.status == ServerStatus.Slashed) {
            emit ServerSlashed(server, slashId, 0, 0);
            return;
        }
        _retire(server, s, ServerStatus.Slashed);
        uint256 slashed = _slashStake(server, paramsAt(currentEpoch()).slashShareBps);
        uint256 forfeited = _forfeitRewards(server, s);
        emit ServerSlashed(server, slashId, slashed, forfeited);
    }

    function _receiptHash(Receipt calldata r) private pure returns (bytes32) {
        return keccak256(abi.encode(RECEIPT_TYPEHASH, r));
    }

    function _receiptServer(bytes32 structHash, bytes calldata sig) private view returns (address server) {
        (address signer,,) = ECDSA.tryRecover(sha256(abi.encodePacked(_hashTypedDataV4(structHash))), sig);
        server = _serverOf(signer);
        if (server == address(0)) revert TrustLedgerUnknownPeerSigner(signer);
    }

    function _pending(bytes32 slashId) private view returns (Slash storage sl) {
        sl = _slashes[slashId];
        if (sl.state != SlashState.Pending) revert TrustLedgerSlashNotPending(slashId, sl.state);
    }
}
