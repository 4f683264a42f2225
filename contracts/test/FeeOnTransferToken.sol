// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test-only ERC-20 that burns `feeBps` of every transfer (like tokens with a transfer
/// tax): the recipient gets less than was sent. `setFee` turns the fee on or off later, as an
/// upgradeable token with a fee switch could.
contract FeeOnTransferToken is ERC20 {
    uint256 public feeBps;

    constructor(address holder, uint256 supply, uint256 feeBps_) ERC20("Taxed", "TAX") {
        feeBps = feeBps_;
        _mint(holder, supply);
    }

    function setFee(uint256 feeBps_) external {
        feeBps = feeBps_;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0) || feeBps == 0) return super._update(from, to, value);
        uint256 fee = (value * feeBps) / 10_000;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
