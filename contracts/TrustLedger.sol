// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {LedgerParams} from "./ledger/LedgerParams.sol";
import {Bonding} from "./ledger/Bonding.sol";
import {Staking} from "./ledger/Staking.sol";
import {LedgerPart} from "./ledger/LedgerPart.sol";
import {AttestedSettlement} from "./ledger/AttestedSettlement.sol";

/// @title TrustLedger
/// @notice Registry, trust scores, settlement and slashing for eFedLLM (paper §3), composed of
/// single-concern parts: {LedgerParams} (clock, governed parameters), {Bonding} (stake and the
/// books), {VerifierCommittee}, {ServerRegistry}, {Rewards}, {EpochSettlement} (commit-reveal
/// reports, stake-weighted medians, Eq. 3 and 4), {Evidence} (slashing on evidence and
/// equivocation) and {Staking}. Timeline and formulas: docs/settlement.md.
///
/// The composition is over EIP-170's 24,576 bytes of code, so it runs as three contracts with
/// one storage layout (each is a {Staking}): this one, which users call and which holds every
/// token and all state, runs the report, settlement, reward and stake paths itself; it
/// delegates (DELEGATECALL: their code on this contract's storage, events and EIP-712 domain)
/// registration, the directory views and parameter governance to {TrustLedgerRegistry}, and
/// evidence, penalties, roles and the committee view to {TrustLedgerCourt}. Its ABI is the whole ledger's.
contract TrustLedger is Staking, AttestedSettlement {
    /// @notice The code registration, the directory views and parameter governance run.
    address public immutable registry;
    /// @notice The code evidence, penalties, roles and the committee view run.
    address public immutable court;

    /// @param registry_ a {TrustLedgerRegistry} deployed with the same arguments; its genesis is
    /// this ledger's.
    /// @param court_ a {TrustLedgerCourt} deployed with the same arguments after `registry_`.
    /// @param token_ stake and reward token (any ERC-20).
    /// @param admin default admin and governor (a TimelockController outside tests).
    /// @param treasury_ receives slashed stake and forfeited rewards (not the reward pool).
    /// @param modelHash_ hash identifying the model the swarm serves.
    /// @param numLayers_ L, the model's transformer layer count.
    /// @param epochLength_ seconds per epoch (≥ 2).
    /// @param params_ parameters of epoch 0 on (see {ITrustLedger-Params}).
    constructor(
        LedgerPart registry_,
        LedgerPart court_,
        IERC20 token_,
        address admin,
        address treasury_,
        bytes32 modelHash_,
        uint16 numLayers_,
        uint32 epochLength_,
        Params memory params_
    )
        LedgerParams(admin, treasury_, modelHash_, numLayers_, epochLength_, registry_.genesis(), params_)
        Bonding(token_)
    {
        _checkPart(registry_, token_, epochLength_);
        _checkPart(court_, token_, epochLength_);
        registry = address(registry_);
        court = address(court_);
    }

    // --- delegated to the registry (documented in their modules) ----------------------------

    function registerServer(uint256, uint16, uint16, bytes calldata, string[] calldata, Hardware calldata, bytes calldata)
        external override
    {
        _delegate(registry);
    }

    function updateLayers(uint16, uint16) external override {
        _delegate(registry);
    }

    function updateAddrs(string[] calldata) external override {
        _delegate(registry);
    }

    function registerVerifier(uint256, bytes calldata, string[] calldata) external override {
        _delegate(registry);
    }

    function updateVerifierAddrs(string[] calldata) external override {
        _delegate(registry);
    }

    function getServer(address) external view override returns (ServerView memory r0) {
        _delegateView(registry);
    }

    function getVerifier(address) public view override returns (VerifierView memory view_) {
        _delegateView(registry);
    }

    function activeServersPage(uint256, uint256) external view override returns (ServerView[] memory r0) {
        _delegateView(registry);
    }

    function serversPage(uint256, uint256) external view override returns (ServerView[] memory r0) {
        _delegateView(registry);
    }

    function verifiersPage(uint256, uint256) external view override returns (VerifierView[] memory views) {
        _delegateView(registry);
    }

    function coverage() external view override returns (uint256[] memory counts) {
        _delegateView(registry);
    }

    function scheduleParams(Params calldata) external override {
        _delegate(registry);
    }

    function setTreasury(address) external override {
        _delegate(registry);
    }

    function setModel(bytes32, uint16) external override {
        _delegate(registry);
    }

    // --- delegated to the court (documented in their modules) ---------------------------------

    function committee(uint64, uint256, uint256)
        external view override
        returns (address[] memory members, uint256[] memory stakes)
    {
        _delegateView(court);
    }

    function submitEvidence(Receipt calldata, bytes calldata, bytes32, address[] calldata, bytes[] calldata)
        external override
        returns (bytes32 slashId)
    {
        _delegate(court);
    }

    function refuteSlash(bytes32, address[] calldata, bytes[] calldata) external override {
        _delegate(court);
    }

    function executeSlash(bytes32) external override {
        _delegate(court);
    }

    function slashEquivocation(Receipt calldata, bytes calldata, Receipt calldata, bytes calldata) external override {
        _delegate(court);
    }

    function receiptDigest(Receipt calldata) external view override returns (bytes32 r0) {
        _delegateView(court);
    }

    function receiptSigningHash(Receipt calldata) external view override returns (bytes32 r0) {
        _delegateView(court);
    }

    function getSlash(bytes32)
        external view override
        returns (address server, SlashState state, uint64 executableFrom, address[] memory signers)
    {
        _delegateView(court);
    }

    function penalizeUnrevealed(uint64, address[] calldata) external override {
        _delegate(court);
    }

    function grantRole(bytes32, address) public override {
        _delegate(court);
    }

    function revokeRole(bytes32, address) public override {
        _delegate(court);
    }

    function renounceRole(bytes32, address) public override {
        _delegate(court);
    }

    function beginDefaultAdminTransfer(address) public override {
        _delegate(court);
    }

    function cancelDefaultAdminTransfer() public override {
        _delegate(court);
    }

    function acceptDefaultAdminTransfer() public override {
        _delegate(court);
    }

    function changeDefaultAdminDelay(uint48) public override {
        _delegate(court);
    }

    function rollbackDefaultAdminDelay() public override {
        _delegate(court);
    }

    function _checkPart(LedgerPart part, IERC20 token_, uint32 epochLength_) private view {
        if (part.token() != token_ || part.epochLength() != epochLength_ || part.genesis() != genesis) {
            revert TrustLedgerPartMismatch(address(part));
        }
    }

    /// @dev Runs `target`'s code for this call on this contract's storage and returns or reverts
    /// with what it did (the declared returns of the calling function are never reached).
    function _delegate(address target) private {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, 0, calldatasize())
            let ok := delegatecall(gas(), target, ptr, calldatasize(), 0, 0)
            returndatacopy(ptr, 0, returndatasize())
            if iszero(ok) { revert(ptr, returndatasize()) }
            return(ptr, returndatasize())
        }
    }

    /// @dev {_delegate} for views: the delegated code only reads (a static call stays static).
    function _delegateView(address target) private view {
        function(address) internal run = _delegate;
        function(address) internal view asView;
        assembly ("memory-safe") {
            asView := run
        }
        asView(target);
    }
}
