// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Bonding} from "./Bonding.sol";

/// @title VerifierCommittee
/// @notice Verifiers and the committee of each epoch. A verifier's bonded stake is
/// checkpointed per epoch: a change made in epoch c counts for committees from c+1, so the
/// committee of epoch e is fixed when e starts. Strikes decay (one forgiven per
/// `strikeDecayEpochs`) and stay with the address across re-registration.
abstract contract VerifierCommittee is Bonding {
    using Checkpoints for Checkpoints.Trace208;
    using EnumerableSet for EnumerableSet.AddressSet;

    uint256 public constant MAX_PEER_ID_BYTES = 64;
    uint256 public constant MAX_ADDRS = 8;
    uint256 public constant MAX_ADDR_BYTES = 256;

    struct VerifierRecord {
        VerifierStatus status;
        uint16 strikes; // as of lastStrikeEpoch
        uint64 lastStrikeEpoch;
        uint128 fees; // credited verifier fees, claimable
        bytes peerId;
        string[] addrs;
    }

    mapping(address verifier => VerifierRecord) private _verifiers;
    mapping(address verifier => Checkpoints.Trace208) private _verifierStake;
    Checkpoints.Trace208 private _committeeStake;
    EnumerableSet.AddressSet private _verifierSet;

    /// @notice Registers the caller as a Verifier with `amount` ≥ minVerifierStake, its libp2p
    /// peer id and multiaddrs (so clients can reach it). It sits on committees from the next
    /// epoch. Requires no registration in either role. Emits {VerifierRegistered}, {StakeChanged}.
    function registerVerifier(uint256 amount, bytes calldata peerId, string[] calldata addrs) external virtual nonReentrant {
        VerifierRecord storage v = _verifiers[msg.sender];
        if (v.status != VerifierStatus.None || _isServer(msg.sender)) revert TrustLedgerAlreadyRegistered(msg.sender);
        uint256 minimum = paramsAt(currentEpoch()).minVerifierStake;
        if (amount < minimum) revert TrustLedgerInsufficientStake(msg.sender, amount, minimum);
        if (peerId.length == 0 || peerId.length > MAX_PEER_ID_BYTES) revert TrustLedgerUnsupportedPeerId(peerId);
        _checkAddrs(addrs);
        v.status = VerifierStatus.Active;
        v.peerId = peerId;
        v.addrs = addrs;
        _verifierSet.add(msg.sender);
        emit VerifierRegistered(msg.sender, amount, peerId);

        _bond(msg.sender, amount);
    }

    /// @notice Replaces the caller's verifier multiaddrs. Emits {VerifierAddrsUpdated}.
    function updateVerifierAddrs(string[] calldata addrs) external virtual {
        VerifierRecord storage v = _verifiers[msg.sender];
        if (v.status == VerifierStatus.None) revert TrustLedgerNotRegistered(msg.sender);
        _checkAddrs(addrs);
        v.addrs = addrs;
        emit VerifierAddrsUpdated(msg.sender, addrs);
    }

    /// @notice The committee stake of `epoch`: the bonded verifier stake at its start.
    function committeeStake(uint64 epoch) public view returns (uint256) {
        return _committeeStake.upperLookupRecent(uint48(epoch));
    }

    /// @notice `verifier`'s stake on the committee of `epoch` (0: not a member).
    function verifierStakeAt(address verifier, uint64 epoch) public view returns (uint256) {
        return _verifierStake[verifier].upperLookupRecent(uint48(epoch));
    }

    /// @notice The members of `epoch`'s committee among verifiers [offset, offset + limit) of the
    /// registration order, with their stake (a page may hold fewer than `limit` members).
    function committee(uint64 epoch, uint256 offset, uint256 limit)
        external virtual
        view
        returns (address[] memory members, uint256[] memory stakes)
    {
        uint256 end = _pageEnd(_verifierSet.length(), offset, limit);
        members = new address[](end - offset);
        stakes = new uint256[](end - offset);
        uint256 n;
        for (uint256 i = offset; i < end; ++i) {
            address v = _verifierSet.at(i);
            uint256 stake = verifierStakeAt(v, epoch);
            if (stake == 0) continue;
            members[n] = v;
            stakes[n++] = stake;
        }
        assembly ("memory-safe") {
            mstore(members, n) // n ≤ the allocated length
            mstore(stakes, n)
        }
    }

    /// @notice How many verifiers ever registered.
    function verifierCount() external view returns (uint256) {
        return _verifierSet.length();
    }

    /// @notice Verifiers [offset, offset + limit) in registration order.
    function verifiersPage(uint256 offset, uint256 limit) external virtual view returns (VerifierView[] memory views) {
        uint256 end = _pageEnd(_verifierSet.length(), offset, limit);
        views = new VerifierView[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            views[i - offset] = getVerifier(_verifierSet.at(i));
        }
    }

    /// @notice One verifier's record (status None when unknown); strikes are decayed.
    function getVerifier(address verifier) public virtual view returns (VerifierView memory view_) {
        VerifierRecord storage v = _verifiers[verifier];
        Bond storage b = _bondOf(verifier);
        view_.account = verifier;
        view_.status = v.status;
        if (v.status != VerifierStatus.None) (view_.stake, view_.unbonding) = (b.stake, b.unbonding);
        view_.withdrawableAt = b.withdrawableAt;
        view_.strikes = _decayedStrikes(v, currentEpoch());
        view_.pendingRewards = v.fees;
        view_.peerId = v.peerId;
        view_.addrs = v.addrs;
    }

    /// @dev Requires ≥ 2/3 of `epoch`'s committee stake to have signed `digest`, signers
    /// strictly increasing and each a member of that committee.
    function _checkCommitteeSignatures(uint64 epoch, bytes32 digest, address[] calldata signers, bytes[] calldata sigs)
        internal
        view
    {
        if (signers.length != sigs.length) revert TrustLedgerLengthMismatch(signers.length, sigs.length);
        uint256 stake;
        address previous;
        for (uint256 i = 0; i < signers.length; ++i) {
            address signer = signers[i];
            if (signer <= previous) revert TrustLedgerUnsorted(previous, signer);
            previous = signer;
            if (ECDSA.recover(digest, sigs[i]) != signer) revert TrustLedgerBadSignature(signer);
            uint256 s = verifierStakeAt(signer, epoch);
            if (s == 0) revert TrustLedgerNotCommitteeMember(signer, epoch);
            stake += s;
        }
        uint256 total = committeeStake(epoch);
        if (total == 0 || 3 * stake < 2 * total) revert TrustLedgerInsufficientSignatures(stake, total);
    }

    /// @dev One strike for `verifier`; at the strike limit its stake is slashed to the treasury.
    function _strike(address verifier, uint64 epoch) internal {
        VerifierRecord storage v = _verifiers[verifier];
        uint64 current = currentEpoch();
        Params memory p = paramsAt(current);
        uint16 strikes = _decayedStrikes(v, current) + 1;
        emit VerifierStruck(verifier, epoch, strikes);
        if (strikes >= p.strikeLimit) {
            v.strikes = 0;
            v.lastStrikeEpoch = current;
            emit VerifierSlashed(verifier, _slashStake(verifier, p.slashShareBps));
        } else {
            v.strikes = strikes;
            v.lastStrikeEpoch = current;
        }
    }

    function _setVerifierStatus(address verifier, VerifierStatus status) internal {
        _verifiers[verifier].status = status;
    }

    function _creditFee(address verifier, uint256 fee) internal {
        _verifiers[verifier].fees += uint128(fee); // fee ≤ FEE_CAP
    }

    function _feesOf(address verifier) internal view returns (uint256) {
        return _verifiers[verifier].fees;
    }

    function _takeFees(address verifier) internal returns (uint256 fees) {
        fees = _verifiers[verifier].fees;
        _verifiers[verifier].fees = 0;
    }

    /// @dev Keeps the committee checkpoints in step with verifier stake (see {Bonding-_writeStake}).
    function _afterStakeChanged(address account, uint256 stake) internal virtual override {
        if (_verifiers[account].status == VerifierStatus.None) return;
        uint48 from = uint48(currentEpoch() + 1);
        Checkpoints.Trace208 storage own = _verifierStake[account];
        uint256 old = own.latest();
        own.push(from, uint208(stake)); // stake fits uint128
        _committeeStake.push(from, uint208(_committeeStake.latest() + stake - old)); // a sum of stakes
    }

    function _isVerifier(address account) internal view returns (bool) {
        return _verifiers[account].status != VerifierStatus.None;
    }

    function _verifierStatus(address account) internal view returns (VerifierStatus) {
        return _verifiers[account].status;
    }

    function _isServer(address account) internal view virtual returns (bool);

    function _decayedStrikes(VerifierRecord storage v, uint64 current) private view returns (uint16) {
        uint256 forgiven = (current - v.lastStrikeEpoch) / paramsAt(current).strikeDecayEpochs;
        return forgiven >= v.strikes ? 0 : uint16(v.strikes - forgiven); // forgiven < strikes
    }

    function _checkAddrs(string[] calldata addrs) internal pure {
        if (addrs.length > MAX_ADDRS) revert TrustLedgerInvalidAddrs(addrs.length);
        for (uint256 i = 0; i < addrs.length; ++i) {
            uint256 len = bytes(addrs[i]).length;
            if (len == 0 || len > MAX_ADDR_BYTES) revert TrustLedgerInvalidAddrs(addrs.length);
        }
    }

    function _pageEnd(uint256 length, uint256 offset, uint256 limit) internal pure returns (uint256) {
        if (offset > length) return offset; // an empty page
        return limit > length - offset ? length : offset + limit;
    }
}
