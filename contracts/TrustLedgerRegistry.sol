// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {LedgerPart} from "./ledger/LedgerPart.sol";

/// @title TrustLedgerRegistry
/// @notice The part of {TrustLedger} that registers servers and verifiers, serves the directory
/// views ({ServerRegistry}, {VerifierCommittee}, {Staking-getServer}) and schedules parameters
/// ({LedgerParams}). Everything else is another part's and reverts here with {TrustLedgerNotHere}.
contract TrustLedgerRegistry is LedgerPart {
    /// @dev The ledger's arguments; this part's deployment time is the ledger's genesis.
    constructor(
        IERC20 token_,
        address admin,
        address treasury_,
        bytes32 modelHash_,
        uint16 numLayers_,
        uint32 epochLength_,
        Params memory params_
    ) LedgerPart(0, token_, admin, treasury_, modelHash_, numLayers_, epochLength_, params_) {}

    // --- other parts' functions ---------------------------------------------------------------

    function commitReport(uint64, bytes32) external pure override {
        _notHere();
    }

    function revealReport(uint64, bytes calldata, bytes32) external pure override {
        _notHere();
    }

    function commitReports(uint64, address[] calldata, bytes32[] calldata, bytes[] calldata) external pure override {
        _notHere();
    }

    function settleEpoch(uint64, address[] calldata, address[] calldata, bytes[] calldata, bytes32[] calldata)
        external pure override
    {
        _notHere();
    }

    function claim() external pure override returns (uint256 r0) {
        _notHere();
    }

    function fundRewards(uint256) external pure override {
        _notHere();
    }

    function withdraw() external pure override {
        _notHere();
    }

    function addStake(uint256) external pure override {
        _notHere();
    }

    function requestUnbond(uint256) external pure override {
        _notHere();
    }

    function committee(uint64, uint256, uint256)
        external pure override
        returns (address[] memory r0, uint256[] memory r1)
    {
        _notHere();
    }

    function submitEvidence(Receipt calldata, bytes calldata, bytes32, address[] calldata, bytes[] calldata)
        external pure override
        returns (bytes32 r0)
    {
        _notHere();
    }

    function refuteSlash(bytes32, address[] calldata, bytes[] calldata) external pure override {
        _notHere();
    }

    function executeSlash(bytes32) external pure override {
        _notHere();
    }

    function slashEquivocation(Receipt calldata, bytes calldata, Receipt calldata, bytes calldata)
        external pure override
    {
        _notHere();
    }

    function receiptDigest(Receipt calldata) external pure override returns (bytes32 r0) {
        _notHere();
    }

    function receiptSigningHash(Receipt calldata) external pure override returns (bytes32 r0) {
        _notHere();
    }

    function getSlash(bytes32)
        external pure override
        returns (address r0, SlashState r1, uint64 r2, address[] memory r3)
    {
        _notHere();
    }

    function penalizeUnrevealed(uint64, address[] calldata) external pure override {
        _notHere();
    }

    function grantRole(bytes32, address) public pure override {
        _notHere();
    }

    function revokeRole(bytes32, address) public pure override {
        _notHere();
    }

    function renounceRole(bytes32, address) public pure override {
        _notHere();
    }

    function beginDefaultAdminTransfer(address) public pure override {
        _notHere();
    }

    function cancelDefaultAdminTransfer() public pure override {
        _notHere();
    }

    function acceptDefaultAdminTransfer() public pure override {
        _notHere();
    }

    function changeDefaultAdminDelay(uint48) public pure override {
        _notHere();
    }

    function rollbackDefaultAdminDelay() public pure override {
        _notHere();
    }
}
