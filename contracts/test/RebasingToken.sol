// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test-only rebasing ERC-20, share-based as Lido's stETH: accounts hold shares,
/// balances are shares × `index`, and `rebase` moves every balance at once without a transfer.
contract RebasingToken is ERC20 {
    uint256 public index = 1e18; // balance per share, 18 decimals
    uint256 private _totalShares;
    mapping(address account => uint256) private _shares;

    constructor(address holder, uint256 supply) ERC20("Rebasing", "REB") {
        _mint(holder, supply);
    }

    /// @notice Sets the balance per share: every balance grows or shrinks with it.
    function rebase(uint256 index_) external {
        index = index_;
    }

    function sharesOf(address account) external view returns (uint256) {
        return _shares[account];
    }

    function balanceOf(address account) public view override returns (uint256) {
        return (_shares[account] * index) / 1e18;
    }

    function totalSupply() public view override returns (uint256) {
        return (_totalShares * index) / 1e18;
    }

    function _update(address from, address to, uint256 value) internal override {
        uint256 shares = (value * 1e18) / index;
        if (from == address(0)) {
            _totalShares += shares;
        } else {
            if (_shares[from] < shares) revert ERC20InsufficientBalance(from, balanceOf(from), value);
            _shares[from] -= shares;
        }
        if (to == address(0)) _totalShares -= shares;
        else _shares[to] += shares;
        emit Transfer(from, to, value);
    }
}
