// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ServerRegistry} from "./ServerRegistry.sol";

/// @title Rewards
/// @notice Epoch budgets and claims. The budget of epoch e is min(rewardPerEpoch, pool),
/// reserved at its first settlement with work (a shortfall is emitted, never a revert) and
/// shared ∝ S_i × tokens among the servers settled for e. A server's share is credited once
/// e's settlement window has closed (epoch e+3): at its next settlement, on claim, or when
/// it is slashed (then forfeited to the treasury).
abstract contract Rewards is ServerRegistry {
    struct EpochBook {
        // one slot, written by the epoch's first settlement with work
        uint128 points; // Σ S_i (bps) × tokens over the servers settled for the epoch (< 2^46 each)
        uint120 budget; // ≤ REWARD_CAP < 2^80
        bool funded;
    }

    mapping(uint64 epoch => EpochBook) internal _books;

    /// @notice Pays the caller every reward and fee credited to it, first crediting its share
    /// of its last settled epoch if that epoch is final. Emits {RewardCredited},
    /// {RewardsClaimed}.
    /// @return amount the tokens sent.
    function claim() external virtual nonReentrant returns (uint256 amount) {
        ServerRecord storage s = _servers[msg.sender];
        _creditFinal(msg.sender, s);
        amount = uint256(s.rewards) + _takeFees(msg.sender);
        if (amount == 0) revert TrustLedgerNothingToClaim(msg.sender);
        s.rewards = 0;
        emit RewardsClaimed(msg.sender, amount);

        _payOut(msg.sender, amount);
    }

    /// @notice The budget and total points of `epoch`.
    function epochBook(uint64 epoch) external view returns (uint256 budget, uint256 points, bool funded) {
        EpochBook storage b = _books[epoch];
        return (b.budget, b.points, b.funded);
    }

    /// @notice Rewards and fees `account` could claim now.
    function pendingRewards(address account) public view returns (uint256) {
        ServerRecord storage s = _servers[account];
        return uint256(s.rewards) + _realizable(s.lastSettled, s.pendingPoints) + _feesOf(account);
    }

    /// @dev Credits `server`'s pending share if its epoch is final; returns it (0 otherwise).
    function _creditFinal(address server, ServerRecord storage s) internal returns (uint256 reward) {
        uint56 points = s.pendingPoints;
        if (points == 0 || !_isFinal(s.lastSettled - 1)) return 0;
        reward = _realizable(s.lastSettled, points);
        s.pendingPoints = 0;
        if (reward == 0) return 0;
        s.rewards += uint96(reward); // a share of a budget ≤ REWARD_CAP < 2^96
        _book(0, reward);
        emit RewardCredited(server, s.lastSettled - 1, reward);
    }

    /// @dev Reserves `epoch`'s budget once, from what the pool holds.
    function _fundEpoch(uint64 epoch, uint256 rewardPerEpoch) internal {
        EpochBook storage b = _books[epoch];
        if (b.funded) return;
        uint256 budget = _reserve(rewardPerEpoch);
        b.funded = true;
        b.budget = uint120(budget); // ≤ REWARD_CAP
        emit EpochFunded(epoch, budget, rewardPerEpoch - budget);
    }

    /// @dev The reward for `points` in epoch `lastSettled − 1`, or 0 while it is not final.
    function _realizable(uint32 lastSettled, uint56 points) internal view returns (uint256) {
        if (points == 0) return 0;
        uint64 epoch = lastSettled - 1;
        if (!_isFinal(epoch)) return 0;
        EpochBook storage b = _books[epoch];
        return (uint256(b.budget) * points) / b.points; // rounds down: Σ ≤ budget; b.points ≥ points
    }

    /// @dev Epoch e is final once its settlement window (epoch e+2) has closed.
    function _isFinal(uint64 epoch) internal view returns (bool) {
        return currentEpoch() >= epoch + 3;
    }

    /// @dev Gives up `server`'s rewards (credited and final pending) to the treasury.
    function _forfeitRewards(address server, ServerRecord storage s) internal returns (uint256 amount) {
        _creditFinal(server, s);
        s.pendingPoints = 0; // a share of a budget not yet final stays reserved, unpaid
        amount = s.rewards;
        if (amount == 0) return 0;
        s.rewards = 0;
        _payOut(treasury(), amount);
    }
}
