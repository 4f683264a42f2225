// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ITrustLedger} from "../interfaces/ITrustLedger.sol";

interface IServerRegistration {
    function registerServer(
        uint256 amount,
        uint16 start,
        uint16 end,
        bytes calldata peerId,
        string[] calldata addrs,
        ITrustLedger.Hardware calldata hw,
        bytes calldata peerSig
    ) external;
}

/// @notice Test-only: one Server account that registers itself when created (its stake comes
/// from the registrar that creates it).
contract BulkServer {
    constructor(IServerRegistration ledger, IERC20 token, uint256 stake, uint16 start, uint16 end, bytes memory peerId, bytes memory proof) {
        BulkRegistrar(msg.sender).fund(stake);
        token.approve(address(ledger), stake);
        string[] memory addrs = new string[](1);
        addrs[0] = "/ip4/127.0.0.1/tcp/4001";
        ledger.registerServer(stake, start, end, peerId, addrs, ITrustLedger.Hardware(4096, 100), proof);
    }
}

/// @notice Test-only: registers many servers per transaction, each a {BulkServer} created
/// with CREATE (child k has the address of nonce k + 1), so that the peer-key proofs can be
/// signed for their addresses in advance.
contract BulkRegistrar {
    IServerRegistration public immutable ledger;
    IERC20 public immutable token;

    constructor(IServerRegistration ledger_, IERC20 token_) {
        ledger = ledger_;
        token = token_;
    }

    function register(uint256 stake, uint16[] calldata starts, uint16[] calldata ends, bytes[] calldata peerIds, bytes[] calldata proofs)
        external
    {
        for (uint256 i = 0; i < starts.length; ++i) {
            new BulkServer(ledger, token, stake, starts[i], ends[i], peerIds[i], proofs[i]);
        }
    }

    /// @dev Called by a BulkServer being created.
    function fund(uint256 amount) external {
        token.transfer(msg.sender, amount);
    }
}
