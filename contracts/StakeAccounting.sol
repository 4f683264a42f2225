// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
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

    // Packed in pairs: settlement touches the second slot once per server.
    /// @notice Stake held for servers and verifiers, bonded or unbonding.
    uint128 public totalStaked;
    /// @notice Epoch budgets taken from the pool but not yet credited to a server.
    uint128 public totalReserved;
    /// @notice Funded rewards not yet promised to any epoch; slashes land here too.
    uint128 public rewardPool;
    /// @notice Credited rewards and fees waiting for `claim`.
    uint128 public totalUnclaimed;

    constructor(IERC20 token_) {
        token = token_;
    }

    /// @dev Pulls `amount` from `from` into stake.
    function _pullStake(address from, uint256 amount) internal {
        totalStaked += SafeCast.toUint128(amount);
        token.safeTransferFrom(from, address(this), amount);
    }

    /// @dev Stake leaves the ledger (after its unbonding delay).
    function _payOutStake(address to, uint256 amount) internal {
        totalStaked -= uint128(amount); // amount was staked, so it fits
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
        uint128 cut = uint128(stakeCut + unbondingCut); // a share of staked amounts
        totalStaked -= cut;
        rewardPool += cut;
    }

    /// @dev Reserves up to `amount` of the pool for an epoch budget.
    function _reserve(uint256 amount) internal returns (uint128 reserved) {
        uint128 pool = rewardPool;
        reserved = amount < pool ? uint128(amount) : pool;
        rewardPool = pool - reserved;
        totalReserved += reserved;
    }

    /// @dev One settlement's money moves at once: `fees` leave the pool and `credited` leaves
    /// the reserved budgets; both become claimable.
    function _book(uint256 fees, uint256 credited) internal {
        if (fees != 0) rewardPool -= uint128(fees); // callers never pay more fees than the pool holds
        if (credited != 0) totalReserved -= uint128(credited); // a share of a reserved budget
        if (fees + credited != 0) totalUnclaimed += uint128(fees + credited);
    }

    /// @dev Adds funded rewards to the pool.
    function _fund(address from, uint256 amount) internal {
        rewardPool += SafeCast.toUint128(amount);
        token.safeTransferFrom(from, address(this), amount);
        emit RewardsFunded(from, amount);
    }

    /// @dev Pays out claimed rewards.
    function _payOutRewards(address to, uint256 amount) internal {
        totalUnclaimed -= uint128(amount); // amount was credited, so it fits
        token.safeTransfer(to, amount);
    }
}
