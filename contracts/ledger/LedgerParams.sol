// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ITrustLedger} from "../interfaces/ITrustLedger.sol";

/// @title LedgerParams
/// @notice The epoch clock and the governance parameters. Parameters have a floor and a cap
/// each; a change is scheduled by the governor (a TimelockController) and takes effect from
/// epoch `currentEpoch() + PARAMS_LEAD_EPOCHS`, so no epoch that already started (or is being
/// settled) is judged by rules set after it began. The slash destination (treasury) and the
/// model are governed too.
abstract contract LedgerParams is ITrustLedger, AccessControlDefaultAdminRules, EIP712 {
    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    /// @notice A parameter change applies from this many epochs after the one it is made in.
    uint64 public constant PARAMS_LEAD_EPOCHS = 3;
    uint48 internal constant ADMIN_TRANSFER_DELAY = 2 days;
    uint256 internal constant BPS = 10_000;

    // floors and caps (see docs/settlement.md)
    uint256 internal constant STAKE_FLOOR = 1e18;
    uint256 internal constant STAKE_CAP = 1e27;
    uint256 internal constant REWARD_CAP = 1e24;
    uint256 internal constant FEE_CAP = 1e21;
    uint256 internal constant THETA_CAP = 0.95e18;
    uint256 internal constant SLASH_FLOOR_BPS = 100;
    uint256 internal constant SLASH_CAP_BPS = 5000;
    uint256 internal constant UNBONDING_CAP = 60 days;
    uint256 internal constant MEMORY_CAP_MIB = 1 << 20;
    uint256 internal constant THROUGHPUT_CAP = 1e6;
    uint256 internal constant WINDOW_CAP_EPOCHS = 1000;
    uint256 internal constant STRIKE_LIMIT_CAP = 100;

    struct Scheduled {
        uint64 fromEpoch;
        Params params;
    }

    /// @notice Start of epoch 0.
    uint256 public immutable genesis;
    /// @notice Seconds per epoch; fixed, since changing it would renumber epochs.
    uint32 public immutable epochLength;

    Scheduled[] private _schedule;
    address private _treasury;
    bytes32 private _modelHash;
    uint16 internal _numLayers;

    constructor(
        address admin,
        address treasury_,
        bytes32 modelHash_,
        uint16 numLayers_,
        uint32 epochLength_,
        uint256 genesis_,
        Params memory p
    )
        AccessControlDefaultAdminRules(ADMIN_TRANSFER_DELAY, admin)
        EIP712("eFedLLM TrustLedger", "2")
    {
        if (epochLength_ < 2) revert TrustLedgerInvalidParams("epochLength", epochLength_, 2, type(uint32).max);
        epochLength = epochLength_;
        genesis = genesis_;
        _grantRole(GOVERNOR_ROLE, admin);
        _checkParams(p);
        _schedule.push(Scheduled(0, p));
        emit ParamsScheduled(0, p);
        _setTreasury(treasury_);
        _setModel(modelHash_, numLayers_);
    }

    /// @notice Schedules new parameters from epoch `currentEpoch() + PARAMS_LEAD_EPOCHS`,
    /// replacing any change not yet in effect. Requires GOVERNOR_ROLE and every field within its
    /// floor and cap. Emits {ParamsScheduled}.
    function scheduleParams(Params calldata p) external virtual onlyRole(GOVERNOR_ROLE) {
        _checkParams(p);
        uint64 current = currentEpoch();
        while (_schedule[_schedule.length - 1].fromEpoch > current) _schedule.pop(); // entry 0 has fromEpoch 0
        uint64 from = current + PARAMS_LEAD_EPOCHS;
        _schedule.push(Scheduled(from, p));
        emit ParamsScheduled(from, p);
    }

    /// @notice Sets where slashed stake and forfeited rewards go. Requires GOVERNOR_ROLE.
    /// Emits {TreasuryUpdated}.
    function setTreasury(address treasury_) external virtual onlyRole(GOVERNOR_ROLE) {
        _setTreasury(treasury_);
    }

    /// @notice Points the ledger at another model. Requires GOVERNOR_ROLE and no active server.
    /// Emits {ModelUpdated}.
    function setModel(bytes32 modelHash_, uint16 numLayers_) external virtual onlyRole(GOVERNOR_ROLE) {
        uint256 active = _activeServerCount();
        if (active != 0) revert TrustLedgerModelInUse(active);
        _setModel(modelHash_, numLayers_);
    }

    /// @notice The epoch the chain is in now: epoch e covers [genesis + e·len, genesis + (e+1)·len).
    function currentEpoch() public view returns (uint64) {
        return uint64((block.timestamp - genesis) / epochLength);
    }

    /// @notice The first second after `epoch`.
    function epochEnd(uint64 epoch) public view returns (uint256) {
        return genesis + (uint256(epoch) + 1) * epochLength;
    }

    /// @notice The parameters in effect now.
    function params() external view returns (Params memory) {
        return paramsAt(currentEpoch());
    }

    /// @notice The parameters in effect during `epoch` (a scheduled change shows from its epoch).
    function paramsAt(uint64 epoch) public view returns (Params memory) {
        return _paramsRef(epoch);
    }

    /// @notice Where slashed stake and forfeited rewards go.
    function treasury() public view returns (address) {
        return _treasury;
    }

    /// @notice The model served: its hash and layer count L.
    function model() external view returns (bytes32 modelHash, uint16 numLayers) {
        return (_modelHash, _numLayers);
    }

    function _activeServerCount() internal view virtual returns (uint256);

    /// @dev The parameters of `epoch` in storage (hot paths read single fields).
    function _paramsRef(uint64 epoch) internal view returns (Params storage) {
        uint256 i = _schedule.length - 1;
        while (_schedule[i].fromEpoch > epoch) --i; // entry 0 has fromEpoch 0
        return _schedule[i].params;
    }

    function _checkParams(Params memory p) internal view {
        _within("minServerStake", p.minServerStake, STAKE_FLOOR, STAKE_CAP);
        uint256 verifierFloor = (p.minServerStake * p.slashShareBps) / BPS;
        _within("minVerifierStake", p.minVerifierStake, verifierFloor > STAKE_FLOOR ? verifierFloor : STAKE_FLOOR, STAKE_CAP);
        _within("rewardPerEpoch", p.rewardPerEpoch, 0, REWARD_CAP);
        _within("verifierFee", p.verifierFee, 0, FEE_CAP);
        _within("theta", p.theta, 0, THETA_CAP);
        _within("maxTokensPerEpoch", p.maxTokensPerEpoch, 1, type(uint32).max);
        _within("minMemoryMiB", p.minMemoryMiB, 0, MEMORY_CAP_MIB);
        _within("minThroughput", p.minThroughput, 0, THROUGHPUT_CAP);
        _within("slashShareBps", p.slashShareBps, SLASH_FLOOR_BPS, SLASH_CAP_BPS);
        _within("strikeLimit", p.strikeLimit, 2, STRIKE_LIMIT_CAP);
        _within("strikeDecayEpochs", p.strikeDecayEpochs, 1, WINDOW_CAP_EPOCHS * 10);
        _within("evidenceWindowEpochs", p.evidenceWindowEpochs, 1, WINDOW_CAP_EPOCHS);
        _within("challengeEpochs", p.challengeEpochs, 1, WINDOW_CAP_EPOCHS);
        // stake must stay slashable until evidence on its last epoch could have been executed
        uint256 unbondingFloor = (uint256(p.evidenceWindowEpochs) + p.challengeEpochs + 3) * epochLength;
        _within("unbondingDelay", p.unbondingDelay, unbondingFloor, UNBONDING_CAP > unbondingFloor ? UNBONDING_CAP : unbondingFloor);
    }

    function _within(string memory field, uint256 value, uint256 floor, uint256 cap) private pure {
        if (value < floor || value > cap) revert TrustLedgerInvalidParams(field, value, floor, cap);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0) || treasury_ == address(this)) {
            revert TrustLedgerInvalidParams("treasury", uint160(treasury_), 1, type(uint160).max);
        }
        _treasury = treasury_;
        emit TreasuryUpdated(treasury_);
    }

    function _setModel(bytes32 modelHash_, uint16 numLayers_) private {
        if (numLayers_ == 0) revert TrustLedgerInvalidParams("numLayers", 0, 1, type(uint16).max);
        _modelHash = modelHash_;
        _numLayers = numLayers_;
        emit ModelUpdated(modelHash_, numLayers_);
    }
}
