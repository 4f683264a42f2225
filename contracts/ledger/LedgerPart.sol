// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {LedgerParams} from "./LedgerParams.sol";
import {Bonding} from "./Bonding.sol";
import {Staking} from "./Staking.sol";

/// @title LedgerPart
/// @notice Code that {TrustLedger} delegates to: the ledger's storage layout (a {Staking}) with
/// the ledger's immutables, run only through the ledger's DELEGATECALL, on the ledger's
/// storage. Called directly it would act on its own, unused storage. Its constructor takes
/// the ledger's arguments (it initialises that unused storage like the ledger's) and the
/// genesis to share: a part deployed first passes 0 for "now".
abstract contract LedgerPart is Staking {
    constructor(
        uint256 genesis_,
        IERC20 token_,
        address admin,
        address treasury_,
        bytes32 modelHash_,
        uint16 numLayers_,
        uint32 epochLength_,
        Params memory params_
    )
        LedgerParams(admin, treasury_, modelHash_, numLayers_, epochLength_, genesis_ == 0 ? block.timestamp : genesis_, params_)
        Bonding(token_)
    {}

    function _notHere() internal pure {
        revert TrustLedgerNotHere(msg.sig);
    }
}
