// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title StakeTokenCheck
/// @notice Refuses, before a ledger is deployed over it, an existing ERC-20 that the ledger's
/// books cannot follow. The ledger counts what is sent (amount in == amount received) and
/// expects balances to change only by transfers; so it cannot take a token that keeps a fee
/// on transfer, in either direction, nor one that rebases (balances that grow or shrink by
/// themselves). Fees are caught by moving tokens; rebasing by the interfaces that rebasing
/// tokens expose (a token that rebases behind a plain ERC-20 face is not caught: see
/// docs/threat-model.md).
contract StakeTokenCheck {
    using SafeERC20 for IERC20;

    /// @notice Functions that only rebasing (share-based) tokens have: Aave's aTokens and
    /// Ampleforth (`scaledBalanceOf`), Lido's stETH and its kin (`sharesOf`), Origin's OUSD
    /// (`rebasingCreditsPerToken`, `rebasingCreditsPerTokenHighres`), Olympus' sOHM
    /// (`gonsForBalance`). Four bytes each.
    bytes public constant REBASING_SELECTORS = abi.encodePacked(
        bytes4(keccak256("scaledBalanceOf(address)")),
        bytes4(keccak256("sharesOf(address)")),
        bytes4(keccak256("rebasingCreditsPerToken()")),
        bytes4(keccak256("rebasingCreditsPerTokenHighres()")),
        bytes4(keccak256("gonsForBalance(uint256)"))
    );

    /// @notice The token took a cut on the way in (`toCheck`) or out (to the caller).
    error StakeTokenFeeOnTransfer(address token, uint256 sent, uint256 received);
    /// @notice The token answers `selector`, a function of rebasing tokens.
    error StakeTokenRebasing(address token, bytes4 selector);
    error StakeTokenZeroAmount();

    /// @notice Emitted when `token` passed: `amount` went in and came back out whole.
    event StakeTokenChecked(address indexed token, uint256 amount);

    /// @notice Checks `token`: no rebasing interface, and `amount` (approved to this contract
    /// by the caller beforehand) arrives whole and goes back to the caller whole.
    /// Requires: `amount` > 0, allowance and balance of the caller ≥ `amount`.
    /// Emits {StakeTokenChecked}; reverts with {StakeTokenRebasing} or {StakeTokenFeeOnTransfer}.
    function check(IERC20 token, uint256 amount) external {
        if (amount == 0) revert StakeTokenZeroAmount();
        bytes memory selectors = REBASING_SELECTORS;
        for (uint256 i = 0; i < selectors.length; i += 4) {
            bytes4 selector = bytes4(
                bytes.concat(selectors[i], selectors[i + 1], selectors[i + 2], selectors[i + 3])
            );
            // one argument serves all of them (a function without arguments ignores it)
            (bool ok, bytes memory ret) =
                address(token).staticcall(abi.encodeWithSelector(selector, address(this)));
            if (ok && ret.length >= 32) revert StakeTokenRebasing(address(token), selector);
        }

        uint256 held = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - held;
        if (received != amount) revert StakeTokenFeeOnTransfer(address(token), amount, received);

        uint256 theirs = token.balanceOf(msg.sender);
        token.safeTransfer(msg.sender, amount);
        uint256 returned = token.balanceOf(msg.sender) - theirs;
        if (returned != amount) revert StakeTokenFeeOnTransfer(address(token), amount, returned);
        emit StakeTokenChecked(address(token), amount);
    }
}
