// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ITrustLedger} from "./interfaces/ITrustLedger.sol";

/// @title StakeAccounting
/// @notice The money side of the ledger: four totals that always add up to the token
/// balance (`totalStaked + rewardPool + totalReserved + totalUnclaimed`), and the only
/// functions that change them. Role logic lives in {TrustLedger}.
abstract contract StakeAccounting is ITrustLedger {
    using SafeERC20 for IERC20;

    uint256 internal constant BPS = 10_000;

    /// @notice The stake and reward token.
    IERC20 public immutable token;

    /// @notice Stake held for servers and verifiers, bonded or unbonding.
    uint256 public totalStaked;
    /// @notice Funded rewards not yet promised to any epoch; slashes land here too.
    uint256 public rewardPool;
    /// @notice Epoch budgets taken from the pool but not yet credited to a server.
    uint256 public totalReserved;
    /// @notice Credited rewards and fees waiting for `claim`.
    uint256 public totalUnclaimed;

    constructor(IERC20 token_) {
        token = token_;
    }

    /// @dev Pulls `amount` from `from` into stake.
    function _pullStake(address from, uint256 amount) internal {
        totalStaked += amount;
        token.safeTransferFrom(from, address(this), amount);
    }

    /// @dev Stake leaves the ledger (after its unbonding delay).
    function _payOutStake(address to, uint256 amount) internal {
        totalStaked -= amount;
        token.safeTransfer(to, amount);
    }

    /// @dev Moves `shareBps` of `stake` and of `unbonding` to the reward pool.
    /// @return stakeCut and unbondingCut, the amounts removed from each.
    function _slash(uint256 stake, uint256 unbonding, uint256 shareBps)
        internal
        returns (uint256 stakeCut, uint256 unbondingCut)
    {
        stakeCut = (stake * shareBps) / BPS;
        unbondingCut = (unbonding * shareBps) / BPS;
        uint256 cut = stakeCut + unbondingCut;
        totalStaked -= cut;
        rewardPool += cut;
    }

    /// @dev Reserves up to `amount` of the pool for an epoch budget.
    function _reserve(uint256 amount) internal returns (uint256 reserved) {
        reserved = amount < rewardPool ? amount : rewardPool;
        rewardPool -= reserved;
        totalReserved += reserved;
    }

    /// @dev Turns part of a reserved budget into a claimable reward.
    function _creditReserved(uint256 amount) internal {
        totalReserved -= amount;
        totalUnclaimed += amount;
    }

    /// @dev Pays a fee straight from the pool; returns what could be paid (0 when dry).
    function _creditFromPool(uint256 amount) internal returns (uint256 paid) {
        if (rewardPool < amount) return 0;
        rewardPool -= amount;
        totalUnclaimed += amount;
        return amount;
    }

    /// @dev Adds funded rewards to the pool.
    function _fund(address from, uint256 amount) internal {
        rewardPool += amount;
        token.safeTransferFrom(from, address(this), amount);
        emit RewardsFunded(from, amount);
    }

    /// @dev Pays out claimed rewards.
    function _payOutRewards(address to, uint256 amount) internal {
        totalUnclaimed -= amount;
        token.safeTransfer(to, amount);
    }
}
