// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EfedToken} from "../EfedToken.sol";
import {TrustLedger} from "../TrustLedger.sol";
import {ITrustLedger} from "../interfaces/ITrustLedger.sol";
import {Vm} from "./Vm.sol";

/// @notice Drives the ledger through random sequences of register / stake / settle / slash /
/// claim / unbond / withdraw / time, for the invariant tests. Every action is bounded to
/// sensible inputs; actions the ledger refuses simply revert and are skipped.
contract LedgerHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant N = 4;

    EfedToken public immutable token;
    TrustLedger public immutable ledger;
    address[N] public servers;
    uint256[N] public verifierKeys;
    address[N] public verifiers;

    uint256 public calls;
    uint256 public totalClaimed;
    uint256 public totalFunded;

    constructor(EfedToken token_, TrustLedger ledger_) {
        token = token_;
        ledger = ledger_;
        for (uint256 i = 0; i < N; ++i) {
            servers[i] = address(uint160(0x5e0000 + i));
            verifierKeys[i] = 0xa11ce + i;
            verifiers[i] = vm.addr(verifierKeys[i]);
        }
    }

    /// @dev Called once by the test after it has given this handler tokens.
    function seed() external {
        for (uint256 i = 0; i < N; ++i) {
            _give(servers[i], 10_000e18);
            _give(verifiers[i], 10_000e18);
        }
        token.approve(address(ledger), type(uint256).max);
        ledger.fundRewards(50_000e18);
        totalFunded += 50_000e18;
    }

    function actors() external view returns (address[] memory all) {
        all = new address[](2 * N);
        for (uint256 i = 0; i < N; ++i) {
            all[i] = servers[i];
            all[N + i] = verifiers[i];
        }
    }

    // --- actions --------------------------------------------------------------------------

    function registerServer(uint8 who, uint8 start, uint8 len, uint96 stake) external {
        ++calls;
        address s = servers[who % N];
        uint16 a = uint16(start % 5);
        uint16 b = uint16(a + 1 + (len % (5 - a)));
        vm.prank(s);
        ledger.registerServer(
            100e18 + (stake % 1_000e18), a, b, abi.encodePacked(s), new string[](0), ITrustLedger.Hardware(4096, 100)
        );
    }

    function registerVerifier(uint8 who, uint96 stake) external {
        ++calls;
        vm.prank(verifiers[who % N]);
        ledger.registerVerifier(50e18 + (stake % 1_000e18));
    }

    function addStake(uint8 who, uint96 amount) external {
        ++calls;
        vm.prank(_anyone(who));
        ledger.addStake(1 + (amount % 500e18));
    }

    function requestUnbond(uint8 who, uint96 amount, bool all) external {
        ++calls;
        address a = _anyone(who);
        uint256 stake = _stakeOf(a);
        vm.prank(a);
        ledger.requestUnbond(all ? stake : 1 + (amount % (stake + 1)));
    }

    function withdraw(uint8 who) external {
        ++calls;
        vm.prank(_anyone(who));
        ledger.withdraw();
    }

    function claim(uint8 who) external {
        ++calls;
        address a = _anyone(who);
        uint256 before = token.balanceOf(a);
        vm.prank(a);
        ledger.claim();
        totalClaimed += token.balanceOf(a) - before;
    }

    function fund(uint64 amount) external {
        ++calls;
        uint256 x = 1 + (amount % 1_000e18);
        ledger.fundRewards(x);
        totalFunded += x;
    }

    function warp(uint16 secs) external {
        ++calls;
        vm.warp(block.timestamp + 1 + (secs % 250));
    }

    /// @dev Settles the previous epoch for one server with the first three active verifiers;
    /// `acc` picks honest, borderline or failing accuracies (failing ones slash).
    function settle(uint8 who, uint16 acc0, uint16 acc1, uint16 acc2, uint32 tokensServed) external {
        ++calls;
        uint64 epoch = ledger.currentEpoch();
        if (epoch == 0) return;
        epoch -= 1;
        address server = servers[who % N];
        uint256[3] memory keys;
        address[3] memory signers;
        uint256 found;
        // verifiers in increasing address order, as the ledger requires
        for (uint256 pass = 0; pass < N && found < 3; ++pass) {
            uint256 best = type(uint256).max;
            for (uint256 i = 0; i < N; ++i) {
                address v = verifiers[i];
                bool taken = (found > 0 && uint160(v) <= uint160(signers[found - 1]));
                if (taken || !_activeVerifier(v)) continue;
                if (best == type(uint256).max || uint160(v) < uint160(verifiers[best])) best = i;
            }
            if (best == type(uint256).max) break;
            keys[found] = verifierKeys[best];
            signers[found] = verifiers[best];
            ++found;
        }
        if (found < 3) return;
        uint32[3] memory accs = [uint32(acc0 % 10_001), uint32(acc1 % 10_001), uint32(acc2 % 10_001)];
        ITrustLedger.Report[] memory reports = new ITrustLedger.Report[](3);
        for (uint256 i = 0; i < 3; ++i) {
            bytes32 digest = ledger.attestationDigest(epoch, server, accs[i], 10, tokensServed);
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(keys[i], digest);
            reports[i] = ITrustLedger.Report(accs[i], 10, tokensServed, r, bytes32(uint256(s) | (uint256(v - 27) << 255)));
        }
        ledger.submitEpoch(epoch, server, reports);
    }

    // --- helpers --------------------------------------------------------------------------

    function _give(address to, uint256 amount) internal {
        token.transfer(to, amount);
        vm.prank(to);
        token.approve(address(ledger), type(uint256).max);
    }

    function _anyone(uint8 who) internal view returns (address) {
        uint256 i = who % (2 * N);
        return i < N ? servers[i] : verifiers[i - N];
    }

    function _stakeOf(address a) internal view returns (uint256) {
        ITrustLedger.ServerView memory s = ledger.getServer(a);
        if (s.status != ITrustLedger.ServerStatus.None) return s.stake;
        return ledger.getVerifier(a).stake;
    }

    function _activeVerifier(address v) internal view returns (bool) {
        ITrustLedger.VerifierView memory r = ledger.getVerifier(v);
        return r.status == ITrustLedger.VerifierStatus.Active && r.stake >= ledger.params().minVerifierStake;
    }
}
