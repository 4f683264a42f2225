// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EfedToken} from "../EfedToken.sol";
import {TrustLedger} from "../TrustLedger.sol";
import {ITrustLedger} from "../interfaces/ITrustLedger.sol";
import {Vm} from "./Vm.sol";
import {LedgerFixture} from "./LedgerFixture.sol";
import {ReportWalkHarness} from "./ReportWalkHarness.sol";
import {AttestedSettlement} from "../ledger/AttestedSettlement.sol";

/// @notice Drives the ledger through random sequences of register / stake / commit / reveal /
/// settle / penalize / claim / unbond / withdraw / time, for the invariant tests. User actions
/// the ledger may refuse go through try/catch; the report and settlement path (commit and
/// reveal by committee members in their windows, settlement from every revealed report,
/// penalties after the reveal window, the committee's signed medians) is called directly, so
/// that with failOnRevert any revert on it fails the run.
contract LedgerHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant N = 4;

    EfedToken public immutable token;
    TrustLedger public immutable ledger;
    address[N] public servers;
    address[N] public verifiers; // sorted by address

    mapping(uint64 epoch => mapping(uint256 verifier => bytes)) internal _results;
    mapping(uint64 epoch => mapping(uint256 verifier => bytes32)) internal _salts;
    mapping(uint64 epoch => mapping(uint256 verifier => uint8)) internal _state; // 1 committed, 2 revealed

    uint256 public totalClaimed;
    uint256 public totalFunded;
    uint256 public settlements;
    uint256 public attested;
    ReportWalkHarness internal immutable walk = new ReportWalkHarness();

    constructor(EfedToken token_, TrustLedger ledger_) {
        token = token_;
        ledger = ledger_;
        for (uint256 i = 0; i < N; ++i) {
            servers[i] = address(uint160(0x5e0000 + i)); // increasing
            verifiers[i] = vm.addr(0xa11ce + i);
        }
        for (uint256 i = 1; i < N; ++i) {
            for (uint256 j = i; j > 0 && verifiers[j - 1] > verifiers[j]; --j) {
                (verifiers[j - 1], verifiers[j]) = (verifiers[j], verifiers[j - 1]);
            }
        }
    }

    /// @dev Called once by the test after it has given this handler tokens.
    function seed() external {
        if (totalFunded != 0) return;
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

    // --- user actions (may be refused) ---------------------------------------------------

    function registerServer(uint8 who, uint8 start, uint8 len, uint96 stake) external {
        uint256 i = who % N;
        address s = servers[i];
        uint16 a = uint16(start % 5);
        uint16 b = uint16(a + 1 + (len % (5 - a)));
        (uint8 v, bytes32 r, bytes32 ss) = vm.sign(LedgerFixture.peerKey(i), ledger.peerBindingDigest(s));
        vm.prank(s);
        try ledger.registerServer(
            100e18 + (stake % 1_000e18),
            a,
            b,
            LedgerFixture.peerId(i),
            new string[](0),
            ITrustLedger.Hardware(4096, 100),
            abi.encodePacked(r, ss, v)
        ) {} catch {}
    }

    function registerVerifier(uint8 who, uint96 stake) external {
        vm.prank(verifiers[who % N]);
        try ledger.registerVerifier(50e18 + (stake % 1_000e18), hex"01", new string[](0)) {} catch {}
    }

    function updateLayers(uint8 who, uint8 start, uint8 len) external {
        uint16 a = uint16(start % 5);
        vm.prank(servers[who % N]);
        try ledger.updateLayers(a, uint16(a + 1 + (len % (5 - a)))) {} catch {}
    }

    function addStake(uint8 who, uint96 amount) external {
        vm.prank(_anyone(who));
        try ledger.addStake(1 + (amount % 500e18)) {} catch {}
    }

    function requestUnbond(uint8 who, uint96 amount, bool all) external {
        address a = _anyone(who);
        uint256 stake = _stakeOf(a);
        vm.prank(a);
        try ledger.requestUnbond(all ? stake : 1 + (amount % (stake + 1))) {} catch {}
    }

    function withdraw(uint8 who) external {
        vm.prank(_anyone(who));
        try ledger.withdraw() {} catch {}
    }

    function claim(uint8 who) external {
        address a = _anyone(who);
        uint256 before = token.balanceOf(a);
        vm.prank(a);
        try ledger.claim() {
            totalClaimed += token.balanceOf(a) - before;
        } catch {}
    }

    function fund(uint64 amount) external {
        uint256 x = 1 + (amount % 1_000e18);
        if (token.balanceOf(address(this)) < x) return;
        ledger.fundRewards(x);
        totalFunded += x;
    }

    function warp(uint16 secs) external {
        vm.warp(block.timestamp + 1 + (secs % 120));
    }

    /// @dev Server `who` signs two different outputs for one step; anyone proves it (slashing
    /// its stake and rewards to the treasury).
    function equivocate(uint8 who, uint32 pos) external {
        uint256 i = who % N;
        ITrustLedger.Receipt memory a = ITrustLedger.Receipt(
            bytes32(uint256(1)), 0, 1, pos, 1, ledger.currentEpoch(), bytes32(uint256(2)), bytes32(uint256(3)), 0, 0, 0
        );
        ITrustLedger.Receipt memory b = ITrustLedger.Receipt( // a copy: memory structs are references
        a.session, a.start, a.end, a.pos, a.n, a.epoch, a.inputDigest, bytes32(uint256(4)), 0, 0, 0);
        (uint8 va, bytes32 ra, bytes32 sa) = vm.sign(LedgerFixture.peerKey(i), ledger.receiptSigningHash(a));
        (uint8 vb, bytes32 rb, bytes32 sb) = vm.sign(LedgerFixture.peerKey(i), ledger.receiptSigningHash(b));
        try ledger.slashEquivocation(a, abi.encodePacked(ra, sa, va), b, abi.encodePacked(rb, sb, vb)) {} catch {}
    }

    // --- the report and settlement path (must never revert) ------------------------------

    /// @dev A committee member of the previous epoch commits a report on every server, with
    /// accuracies honest, borderline or failing and tokens up to 2^32 − 1.
    function commit(uint8 who, uint16 accSeed, uint32 tokens) external {
        _commit(who, accSeed, tokens);
    }

    function _commit(uint8 who, uint16 accSeed, uint32 tokens) internal {
        uint64 current = ledger.currentEpoch();
        if (current == 0 || !_inFirstHalf()) return;
        uint64 epoch = current - 1;
        uint256 i = who % N;
        if (ledger.verifierStakeAt(verifiers[i], epoch) == 0) return;
        bytes memory results;
        for (uint256 s = 0; s < N; ++s) {
            uint16 acc = uint16((uint256(accSeed) * (s + 1)) % 10_001);
            results = abi.encodePacked(results, servers[s], acc, uint32(tokens >> s));
        }
        bytes32 salt = keccak256(abi.encode(who, accSeed, epoch));
        _results[epoch][i] = results;
        _salts[epoch][i] = salt;
        _state[epoch][i] = 1;
        bytes32 commitment = ledger.reportCommitment(epoch, verifiers[i], keccak256(results), salt);
        vm.prank(verifiers[i]); // after the view call: a prank applies to the next call only
        ledger.commitReport(epoch, commitment);
    }

    function reveal(uint8 who) external {
        uint64 current = ledger.currentEpoch();
        if (current == 0 || _inFirstHalf()) return;
        uint64 epoch = current - 1;
        uint256 i = who % N;
        if (_state[epoch][i] != 1) return;
        _state[epoch][i] = 2;
        vm.prank(verifiers[i]);
        ledger.revealReport(epoch, _results[epoch][i], _salts[epoch][i]);
    }

    /// @dev Settles a random subset of servers of epoch current − 2 from the whole committee:
    /// reports revealed on chain, committed ones revealed by the settlement itself, and (in the
    /// second half, when the mask's top bit says so) committed ones left out.
    function settle(uint8 mask) external {
        uint64 current = ledger.currentEpoch();
        if (current < 2) return;
        uint64 epoch = current - 2;
        bool leaveOut = !_inFirstHalf() && mask & 0x80 != 0;
        uint256 n;
        for (uint256 i = 0; i < N; ++i) if (ledger.verifierStakeAt(verifiers[i], epoch) != 0) ++n;
        address[] memory vs = new address[](n);
        bytes[] memory rs = new bytes[](n);
        bytes32[] memory salts = new bytes32[](n);
        n = 0;
        for (uint256 i = 0; i < N; ++i) {
            if (ledger.verifierStakeAt(verifiers[i], epoch) == 0) continue;
            uint8 state = _state[epoch][i];
            if (state == 1 && leaveOut) _state[epoch][i] = state = 3;
            vs[n] = verifiers[i];
            salts[n] = state == 1 || state == 2 ? _salts[epoch][i] : bytes32(0); // zero: not given
            rs[n++] = state == 1 || state == 2 ? _results[epoch][i] : bytes("");
            if (state == 1) _state[epoch][i] = 2; // revealed by this settlement
        }
        uint256 k;
        for (uint256 s = 0; s < N; ++s) if (mask & (1 << s) != 0) ++k;
        address[] memory ss = new address[](k);
        k = 0;
        for (uint256 s = 0; s < N; ++s) if (mask & (1 << s) != 0) ss[k++] = servers[s];
        ledger.settleEpoch(epoch, ss, vs, rs, salts);
        ++settlements;
    }

    /// @dev The committee's cheap settlement, end to end: every member commits a report on
    /// epoch current − 1 (in the next commit window if this one has closed), time moves one
    /// epoch on, and the members in `mask` sign the medians computed from every committed
    /// report as the committee computes them (node/chain/attested.ts); with ≥ 2/3 of the
    /// stake signed, {settleAttested} applies them. (Random sequences alone seldom line up a
    /// whole committee's commits and a call in the first half of e+2.)
    function attest(uint8 mask, uint16 accSeed, uint32 tokens) external {
        if (ledger.currentEpoch() == 0) return;
        uint256 length = ledger.epochLength();
        if (!_inFirstHalf()) vm.warp(ledger.genesis() + uint256(ledger.currentEpoch() + 1) * length);
        for (uint8 i = 0; i < N; ++i) _commit(i, accSeed, tokens);
        vm.warp(block.timestamp + length);
        uint64 epoch = ledger.currentEpoch() - 2;
        (bytes[] memory reports, uint256[] memory stakes, uint256 committee) = _committed(epoch);
        bytes memory medians = _medians(reports, stakes, committee);
        if (medians.length == 0) return; // nothing reaches 2/3: the committee would not sign
        AttestedSettlement.Attestation[] memory members = new AttestedSettlement.Attestation[](_members(epoch));
        bytes32[] memory hashes = new bytes32[](members.length);
        uint256 n;
        for (uint256 i = 0; i < N; ++i) {
            if (ledger.verifierStakeAt(verifiers[i], epoch) == 0) continue;
            bool committed = _state[epoch][i] == 1 || _state[epoch][i] == 2;
            hashes[n] = committed ? keccak256(_results[epoch][i]) : bytes32(0);
            members[n] = AttestedSettlement.Attestation(verifiers[i], hashes[n], committed ? _salts[epoch][i] : bytes32(0), "");
            ++n;
        }
        bytes32 digest = _attestationDigest(epoch, medians, hashes);
        uint256 signed;
        n = 0;
        for (uint256 i = 0; i < N; ++i) {
            uint256 stake = ledger.verifierStakeAt(verifiers[i], epoch);
            if (stake == 0) continue;
            if (mask & (1 << i) != 0) {
                (uint8 v, bytes32 r, bytes32 s) = vm.sign(_key(verifiers[i]), digest);
                members[n].sig = abi.encodePacked(r, s, v);
                signed += stake;
            }
            ++n;
        }
        if (signed == 0 || 3 * signed < 2 * committee) return; // refused (TrustLedger.attested.test.ts)
        ledger.settleAttested(epoch, medians, members);
        for (uint256 i = 0; i < N; ++i) if (_state[epoch][i] == 1) _state[epoch][i] = 2; // opened by it
        ++attested;
    }

    function penalize(uint8 back) external {
        uint64 current = ledger.currentEpoch();
        if (current < 2) return;
        uint64 epoch = current - 2 - (back % 2 == 0 || current < 3 ? 0 : 1);
        if (epoch == current - 2 && _inFirstHalf()) return; // the reveal window closes mid-epoch
        address[] memory all = new address[](N);
        for (uint256 i = 0; i < N; ++i) {
            all[i] = verifiers[i];
            uint8 state = _state[epoch][i];
            // struck and cleared: a committed report never revealed can no longer count
            if ((state == 1 || state == 3) && ledger.verifierStakeAt(verifiers[i], epoch) != 0) _state[epoch][i] = 0;
        }
        ledger.penalizeUnrevealed(epoch, all);
    }

    // --- helpers --------------------------------------------------------------------------

    /// @dev Every committed report of `epoch` with its member's stake, and the committee stake.
    function _committed(uint64 epoch) internal view returns (bytes[] memory reports, uint256[] memory stakes, uint256 committee) {
        uint256 k;
        for (uint256 i = 0; i < N; ++i) if (_state[epoch][i] == 1 || _state[epoch][i] == 2) ++k;
        reports = new bytes[](k);
        stakes = new uint256[](k);
        k = 0;
        for (uint256 i = 0; i < N; ++i) {
            uint256 stake = ledger.verifierStakeAt(verifiers[i], epoch);
            committee += stake;
            if (stake == 0 || !(_state[epoch][i] == 1 || _state[epoch][i] == 2)) continue;
            (reports[k], stakes[k]) = (_results[epoch][i], stake);
            ++k;
        }
    }

    /// @dev `server ‖ accBps ‖ tokens` for each server reported by ≥ 2/3 of `committee`.
    function _medians(bytes[] memory reports, uint256[] memory stakes, uint256 committee) internal view returns (bytes memory medians) {
        for (uint256 s = 0; s < N; ++s) {
            (uint256 acc, uint256 tokens, uint256 reported) = walk.medianOf(reports, stakes, servers[s]);
            if (reported == 0 || 3 * reported < 2 * committee) continue;
            medians = abi.encodePacked(medians, servers[s], uint16(acc), uint32(tokens));
        }
    }

    function _members(uint64 epoch) internal view returns (uint256 n) {
        for (uint256 i = 0; i < N; ++i) if (ledger.verifierStakeAt(verifiers[i], epoch) != 0) ++n;
    }

    /// @dev The EIP-712 digest of AttestedSettlement, from the ledger's ERC-5267 domain.
    function _attestationDigest(uint64 epoch, bytes memory medians, bytes32[] memory hashes) internal view returns (bytes32) {
        (, string memory name, string memory version, uint256 chainId, address verifying,,) = ledger.eip712Domain();
        bytes32 domain = keccak256(
            abi.encode(keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"), keccak256(bytes(name)), keccak256(bytes(version)), chainId, verifying)
        );
        bytes32 typed = keccak256(abi.encode(keccak256("SettlementAttestation(uint64 epoch,bytes32 medians,bytes32 reports)"), epoch, keccak256(medians), keccak256(abi.encodePacked(hashes))));
        return keccak256(abi.encodePacked("\x19\x01", domain, typed));
    }

    function _key(address verifier) internal pure returns (uint256) {
        for (uint256 k = 0xa11ce; k < 0xa11ce + N; ++k) if (vm.addr(k) == verifier) return k;
        revert("not a verifier");
    }

    function _inFirstHalf() internal view returns (bool) {
        return (block.timestamp - ledger.genesis()) % ledger.epochLength() < ledger.epochLength() / 2;
    }

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
}
