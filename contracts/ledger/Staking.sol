// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Evidence} from "./Evidence.sol";

/// @title Staking
/// @notice What spans both roles: stake in and out (adding, unbonding) and a server's record.
abstract contract Staking is Evidence {
    /// @notice Adds `amount` to the caller's bonded stake. Requires an active server or
    /// verifier (a verifier's addition counts for committees from the next epoch).
    /// Emits {StakeChanged}.
    function addStake(uint256 amount) external virtual nonReentrant {
        if (amount == 0) revert TrustLedgerZeroAmount();
        if (_servers[msg.sender].status != ServerStatus.Active && _verifierStatus(msg.sender) != VerifierStatus.Active) {
            revert TrustLedgerNotActive(msg.sender);
        }
        _bond(msg.sender, amount);
    }

    /// @notice Starts unbonding `amount` of the caller's stake; it can be withdrawn after the end
    /// of this epoch plus the unbonding delay, and stays slashable until then (and while a
    /// slash is pending). What stays bonded must be 0 or at least the role's minimum; at 0 the
    /// caller stops serving (a server leaves the routes; a verifier leaves committees from the
    /// next epoch). Emits {UnbondRequested}, {StakeChanged} (and {LayersUncovered}).
    function requestUnbond(uint256 amount) external virtual {
        Params memory p = paramsAt(currentEpoch());
        Bond storage b = _bondOf(msg.sender);
        uint256 minimum;
        if (_servers[msg.sender].status != ServerStatus.None) {
            minimum = _servers[msg.sender].status == ServerStatus.Active ? p.minServerStake : 0;
        } else if (_isVerifier(msg.sender)) {
            minimum = _verifierStatus(msg.sender) == VerifierStatus.Active ? p.minVerifierStake : 0;
        } else {
            revert TrustLedgerNotRegistered(msg.sender);
        }
        if (amount <= b.stake) {
            uint256 remaining = b.stake - amount;
            if (remaining != 0 && remaining < minimum) revert TrustLedgerInsufficientStake(msg.sender, remaining, minimum);
            if (remaining == 0) {
                ServerRecord storage s = _servers[msg.sender];
                if (s.status == ServerStatus.Active) _retire(msg.sender, s, ServerStatus.Exiting);
                else if (_verifierStatus(msg.sender) == VerifierStatus.Active) _setVerifierStatus(msg.sender, VerifierStatus.Exiting);
            }
        }
        uint256 withdrawableAt = _unbond(msg.sender, amount, p.unbondingDelay);
        emit UnbondRequested(msg.sender, amount, currentEpoch(), withdrawableAt);
    }

    /// @notice One server's record (status None when unknown).
    function getServer(address server) external view virtual returns (ServerView memory) {
        return _serverView(server);
    }

    function _serverView(address server) internal view override returns (ServerView memory v) {
        ServerRecord storage s = _servers[server];
        Bond storage b = _bondOf(server);
        v.account = server;
        v.status = s.status;
        v.start = s.start;
        v.end = s.end;
        v.trust = uint64(s.trust) * uint64(TRUST_UNIT);
        if (s.status != ServerStatus.None) (v.stake, v.unbonding) = (b.stake, b.unbonding);
        v.withdrawableAt = b.withdrawableAt;
        v.sinceEpoch = s.sinceEpoch;
        v.lastSettledEpoch = s.lastSettled == 0 ? type(uint64).max : uint64(s.lastSettled - 1);
        v.memoryMiB = s.memoryMiB;
        v.throughput = s.throughput;
        v.pendingSlash = b.locks;
        v.pendingRewards = uint256(s.rewards) + _realizable(s.lastSettled, s.pendingPoints);
        v.peerSigner = s.peerSigner;
        v.peerId = s.peerId;
        v.addrs = s.addrs;
    }
}
