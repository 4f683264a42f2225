// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {LedgerParams} from "./ledger/LedgerParams.sol";
import {Bonding} from "./ledger/Bonding.sol";
import {Evidence} from "./ledger/Evidence.sol";

/// @title TrustLedger
/// @notice Registry, trust scores, settlement and slashing for eFedLLM (paper §3), composed of
/// single-concern parts: {LedgerParams} (clock, governed parameters), {Bonding} (stake and the
/// books), {VerifierCommittee}, {ServerRegistry}, {Rewards}, {EpochSettlement} (commit-reveal
/// reports, stake-weighted medians, Eq. 3 and 4) and {Evidence} (slashing on evidence and
/// equivocation). This contract adds what spans both roles: stake in and out, and the views.
/// Timeline and formulas: docs/settlement.md.
contract TrustLedger is Evidence {
    /// @param token_ stake and reward token (any ERC-20).
    /// @param admin default admin and governor (a TimelockController outside tests).
    /// @param treasury_ receives slashed stake and forfeited rewards (not the reward pool).
    /// @param modelHash_ hash identifying the model the swarm serves.
    /// @param numLayers_ L, the model's transformer layer count.
    /// @param epochLength_ seconds per epoch (≥ 2).
    /// @param params_ parameters of epoch 0 on (see {ITrustLedger-Params}).
    constructor(
        IERC20 token_,
        address admin,
        address treasury_,
        bytes32 modelHash_,
        uint16 numLayers_,
        uint32 epochLength_,
        Params memory params_
    ) LedgerParams(admin, treasury_, modelHash_, numLayers_, epochLength_, params_) Bonding(token_) {}

    /// @notice Adds `amount` to the caller's bonded stake. Requires an active server or
    /// verifier (a verifier's addition counts for committees from the next epoch).
    /// Emits {StakeChanged}.
    function addStake(uint256 amount) external nonReentrant {
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
    function requestUnbond(uint256 amount) external {
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
    function getServer(address server) external view returns (ServerView memory) {
        return _serverView(server);
    }

    function _serverView(address server) internal view override returns (ServerView memory v) {
        ServerRecord storage s = _servers[server];
        Bond storage b = _bondOf(server);
        v.account = server;
        v.status = s.status;
        v.start = s.start;
        v.end = s.end;
        v.trust = s.trust;
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
