// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

interface ILedgerActions {
    function registerVerifier(uint256, bytes calldata, string[] calldata) external;
    function requestUnbond(uint256) external;
    function withdraw() external;
    function claim() external returns (uint256);
    function commitReport(uint64, bytes32) external;
    function revealReport(uint64, bytes calldata, bytes32) external;
}

/// @notice Test-only Verifier that re-enters the ledger when it receives tokens.
contract ReentrantActor {
    enum Attack {
        None,
        Claim,
        Withdraw
    }

    ILedgerActions public immutable ledger;
    Attack public attack;

    constructor(ILedgerActions ledger_, IERC20 token) {
        ledger = ledger_;
        token.approve(address(ledger_), type(uint256).max);
    }

    function setAttack(Attack a) external {
        attack = a;
    }

    function register(uint256 stake) external {
        ledger.registerVerifier(stake, hex"01", new string[](0));
    }

    function commit(uint64 epoch, bytes32 commitment) external {
        ledger.commitReport(epoch, commitment);
    }

    function reveal(uint64 epoch, bytes calldata results, bytes32 salt) external {
        ledger.revealReport(epoch, results, salt);
    }

    function requestUnbond(uint256 amount) external {
        ledger.requestUnbond(amount);
    }

    function withdraw() external {
        ledger.withdraw();
    }

    function claim() external {
        ledger.claim();
    }

    function onTokenReceived(uint256) external {
        if (attack == Attack.Claim) ledger.claim();
        if (attack == Attack.Withdraw) ledger.withdraw();
    }
}
