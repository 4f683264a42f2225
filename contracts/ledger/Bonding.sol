// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {LedgerParams} from "./LedgerParams.sol";

/// @title Bonding
/// @notice The money side of the ledger: bonded and unbonding stake per account, locks held by
/// pending slashes, and four totals that always add up to the token balance
/// (`totalStaked + rewardPool + totalReserved + totalUnclaimed`). {_writeStake} is the only
/// function that changes a stake; slashed stake and forfeited rewards leave to the treasury.
abstract contract Bonding is LedgerParams, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    struct Bond {
        uint128 stake; // bonded: counts for committees (verifiers) and admission (servers)
        uint128 unbonding; // asked back, still slashable until withdrawableAt
        uint64 withdrawableAt;
        uint32 locks; // pending slashes: no withdrawal while > 0
    }

    /// @notice The stake and reward token.
    IERC20 public immutable token;

    /// @notice Stake held for servers and verifiers, bonded or unbonding.
    uint128 public totalStaked;
    /// @notice Epoch budgets taken from the pool but not yet credited.
    uint128 public totalReserved;
    /// @notice Funded rewards not yet promised to any epoch.
    uint128 public rewardPool;
    /// @notice Credited rewards and fees waiting for `claim`.
    uint128 public totalUnclaimed;

    mapping(address account => Bond) private _bonds;

    constructor(IERC20 token_) {
        token = token_;
    }

    /// @notice Adds `amount` of the token to the reward pool. Requires that the ledger receive
    /// exactly `amount` (the books count what was sent). Emits {RewardsFunded}.
    function fundRewards(uint256 amount) external virtual nonReentrant {
        if (amount == 0) revert TrustLedgerZeroAmount();
        rewardPool += amount.toUint128();
        emit RewardsFunded(msg.sender, amount);

        // A fee-on-transfer token (or one that turned a fee on since deployment) would leave
        // the four totals above the balance: refuse it at the deposit. Stake deposits are not
        // checked here: the registry that takes them is at EIP-170's limit.
        uint256 held = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 afterwards = token.balanceOf(address(this));
        if (afterwards != held + amount) revert TrustLedgerTokenNotExact(amount, afterwards > held ? afterwards - held : 0);
    }

    /// @notice Pays out the caller's unbonded stake once its delay has passed and no slash
    /// against it is pending. Emits {StakeChanged}, {Withdrawn}.
    function withdraw() external virtual nonReentrant {
        Bond storage b = _bonds[msg.sender];
        uint256 amount = b.unbonding;
        if (amount == 0) revert TrustLedgerNothingUnbonding(msg.sender);
        if (b.locks != 0) revert TrustLedgerSlashPending(msg.sender, b.locks);
        if (block.timestamp < b.withdrawableAt) revert TrustLedgerUnbondingNotReady(msg.sender, b.withdrawableAt);
        _writeStake(msg.sender, b.stake, 0);
        emit Withdrawn(msg.sender, amount);

        token.safeTransfer(msg.sender, amount);
    }

    /// @dev The only writer of stake: sets `account`'s bonded and unbonding stake, keeps
    /// totalStaked in step (callers move the tokens) and tells {_afterStakeChanged}.
    function _writeStake(address account, uint256 stake, uint256 unbonding) internal {
        Bond storage b = _bonds[account];
        uint256 before = uint256(b.stake) + b.unbonding;
        uint256 afterwards = stake + unbonding;
        b.stake = stake.toUint128();
        b.unbonding = unbonding.toUint128();
        // totalStaked is the sum of all bonds, each of which fits in uint128
        totalStaked = (uint256(totalStaked) + afterwards - before).toUint128();
        emit StakeChanged(account, stake, unbonding);
        _afterStakeChanged(account, stake);
    }

    /// @dev Pulls `amount` from `account` into its bonded stake.
    function _bond(address account, uint256 amount) internal {
        Bond storage b = _bonds[account];
        _writeStake(account, b.stake + amount, b.unbonding);
        token.safeTransferFrom(account, address(this), amount);
    }

    /// @dev Moves `amount` of bonded stake to unbonding, withdrawable at the end of the current
    /// epoch plus the unbonding delay in effect now (a later change does not move it).
    function _unbond(address account, uint256 amount, uint32 unbondingDelay) internal returns (uint256 withdrawableAt) {
        Bond storage b = _bonds[account];
        if (amount == 0) revert TrustLedgerZeroAmount();
        if (amount > b.stake) revert TrustLedgerUnbondTooLarge(account, amount, b.stake);
        withdrawableAt = epochEnd(currentEpoch()) + unbondingDelay;
        b.withdrawableAt = uint64(withdrawableAt); // a timestamp
        _writeStake(account, b.stake - amount, b.unbonding + amount);
    }

    /// @dev Slashes `shareBps` of `account`'s bonded and unbonding stake to the treasury.
    function _slashStake(address account, uint256 shareBps) internal returns (uint256 amount) {
        Bond storage b = _bonds[account];
        uint256 stakeCut = (uint256(b.stake) * shareBps) / BPS;
        uint256 unbondingCut = (uint256(b.unbonding) * shareBps) / BPS;
        amount = stakeCut + unbondingCut;
        if (amount == 0) return 0;
        _writeStake(account, b.stake - stakeCut, b.unbonding - unbondingCut);
        token.safeTransfer(treasury(), amount);
    }

    function _lock(address account) internal {
        ++_bonds[account].locks;
    }

    function _unlock(address account) internal {
        --_bonds[account].locks;
    }

    /// @dev Reserves up to `amount` of the pool for an epoch budget (never more than it holds).
    function _reserve(uint256 amount) internal returns (uint256 reserved) {
        uint128 pool = rewardPool;
        reserved = amount < pool ? amount : pool;
        rewardPool = pool - uint128(reserved); // reserved ≤ pool
        totalReserved += uint128(reserved);
    }

    /// @dev Makes `fromPool` (fees) and `fromReserved` (credited budget shares) claimable.
    function _book(uint256 fromPool, uint256 fromReserved) internal {
        if (fromPool != 0) rewardPool -= fromPool.toUint128();
        if (fromReserved != 0) totalReserved -= fromReserved.toUint128();
        if (fromPool + fromReserved != 0) totalUnclaimed += (fromPool + fromReserved).toUint128();
    }

    /// @dev Pays `amount` of credited rewards to `to` (a claimant or the treasury).
    function _payOut(address to, uint256 amount) internal {
        totalUnclaimed -= amount.toUint128();
        token.safeTransfer(to, amount);
    }

    function _afterStakeChanged(address account, uint256 stake) internal virtual;

    function _bondOf(address account) internal view returns (Bond storage) {
        return _bonds[account];
    }
}
