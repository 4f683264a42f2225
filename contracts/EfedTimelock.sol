// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title EfedTimelock
/// @notice The ledger's governor and treasury: OpenZeppelin's TimelockController, named here so
/// that the build emits an artifact for Ignition. Proposals wait `minDelay` seconds.
contract EfedTimelock is TimelockController {
    /// @param minDelay seconds between scheduling and executing an operation.
    /// @param proposers accounts that may schedule (and cancel) operations.
    /// @param executors accounts that may execute ready operations (address(0): anyone).
    /// @param admin optional extra admin (address(0): the timelock administers itself).
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
