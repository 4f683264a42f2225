// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title EfedToken
/// @notice Stake and reward token for local and test networks. The ledger accepts any
/// ERC-20; on a real network this one is simply not deployed.
contract EfedToken is ERC20, ERC20Permit {
    /// @param holder receives the whole fixed supply (the deployer funds wallets from it).
    /// @param supply total supply in base units (18 decimals).
    constructor(address holder, uint256 supply) ERC20("eFedLLM Stake", "EFED") ERC20Permit("eFedLLM Stake") {
        _mint(holder, supply);
    }
}
