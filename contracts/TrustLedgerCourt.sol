// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {LedgerPart} from "./ledger/LedgerPart.sol";

/// @title TrustLedgerCourt
/// @notice The part of {TrustLedger} that judges: evidence and equivocation slashing
/// ({Evidence}) by committees ({VerifierCommittee-committee}), strikes for unrevealed reports
/// ({EpochSettlement-penalizeUnrevealed}) and the roles (AccessControlDefaultAdminRules). Everything else is another part's and reverts here
/// with {TrustLedgerNotHere}.
contract TrustLedgerCourt is LedgerPart {
    /// @param registry_ the ledger's registry part, whose genesis this part shares.
    constructor(
        LedgerPart registry_,
        IERC20 token_,
        address admin,
        address treasury_,
        bytes32 modelHash_,
        uint16 numLayers_,
        uint32 epochLength_,
        Params memory params_
    ) LedgerPart(registry_.genesis(), token_, admin, treasury_, modelHash_, numLayers_, epochLength_, params_) {}

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

    function registerServer(uint256, uint16, uint16, bytes calldata, string[] calldata, Hardware calldata, bytes calldata)
        external pure override
    {
        _notHere();
    }

    function updateLayers(uint16, uint16) external pure override {
        _notHere();
    }

    function updateAddrs(string[] calldata) external pure override {
        _notHere();
    }

    function registerVerifier(uint256, bytes calldata, string[] calldata) external pure override {
        _notHere();
    }

    function updateVerifierAddrs(string[] calldata) external pure override {
        _notHere();
    }

    function getServer(address) external pure override returns (ServerView memory r0) {
        _notHere();
    }

    function getVerifier(address) public pure override returns (VerifierView memory r0) {
        _notHere();
    }

    function activeServersPage(uint256, uint256) external pure override returns (ServerView[] memory r0) {
        _notHere();
    }

    function serversPage(uint256, uint256) external pure override returns (ServerView[] memory r0) {
        _notHere();
    }

    function verifiersPage(uint256, uint256) external pure override returns (VerifierView[] memory r0) {
        _notHere();
    }

    function coverage() external pure override returns (uint256[] memory r0) {
        _notHere();
    }

    function scheduleParams(Params calldata) external pure override {
        _notHere();
    }

    function setTreasury(address) external pure override {
        _notHere();
    }

    function setModel(bytes32, uint16) external pure override {
        _notHere();
    }
}
