// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TrustMath} from "../libraries/TrustMath.sol";
import {CheatCodes} from "./Vm.sol";
import {ReportWalkHarness} from "./ReportWalkHarness.sol";

/// @notice The settlement's calldata walk gives the same stake-weighted medians as the
/// reference TrustMath.weightedMedian, whoever mentions the server and in whatever order, and
/// counts no report that does not mention it (its entries all below or all above the server).
contract ReportWalkTest is CheatCodes {
    ReportWalkHarness private harness = new ReportWalkHarness();

    function testFuzz_walkMatchesWeightedMedian(
        uint16[7] memory accs,
        uint32[7] memory tokens,
        uint64[7] memory stakes,
        uint8 mentions,
        uint16 shapes,
        uint8 n
    ) public view {
        n = uint8(1 + (n % 7));
        address server = address(0xBEEF);
        bytes[] memory reports = new bytes[](n);
        uint256[] memory weights = new uint256[](n);
        uint256[] memory va = new uint256[](n);
        uint256[] memory wa = new uint256[](n);
        uint256[] memory vt = new uint256[](n);
        uint256[] memory wt = new uint256[](n);
        uint256 k;
        uint256 total;
        for (uint256 i = 0; i < n; ++i) {
            weights[i] = 1 + uint256(stakes[i]);
            uint16 acc = uint16(accs[i] % 10_001);
            // the server when mentioned, with or without entries of other servers below and above
            // it (a report whose last entries are below the server must not count as mentioning it)
            bytes memory mid = (mentions >> i) & 1 == 1 ? abi.encodePacked(server, acc, tokens[i]) : bytes("");
            bytes memory below = (shapes >> (2 * i)) & 1 == 1 ? abi.encodePacked(address(0xBEE0), uint16(1), uint32(1), address(0xBEE1), uint16(3), uint32(3)) : bytes("");
            bytes memory above = (shapes >> (2 * i + 1)) & 1 == 1 ? abi.encodePacked(address(0xBEF0), uint16(2), uint32(2)) : bytes("");
            reports[i] = abi.encodePacked(below, mid, above);
            if ((mentions >> i) & 1 == 1) {
                (va[k], wa[k], vt[k], wt[k]) = (acc, weights[i], tokens[i], weights[i]);
                total += weights[i];
                ++k;
            }
        }
        (uint256 a, uint256 t, uint256 reported) = harness.medianOf(reports, weights, server);
        assertEq(reported, total, "reported stake");
        assertEq(a, k == 0 ? 0 : TrustMath.weightedMedian(va, wa, k), "accBps median");
        assertEq(t, k == 0 ? 0 : TrustMath.weightedMedian(vt, wt, k), "tokens median");
    }

    /// @notice As settlement walks a batch: each report names any subset of six servers, the
    /// batch settles any subset of them, in increasing order; each server's medians and
    /// reporting stake are those of the reports that name it, whichever servers the batch
    /// leaves out (a report's entries for them are passed by, never counted for the next).
    function testFuzz_batchWalkMatchesPerServerMedians(uint16[7] memory accs, uint64[7] memory stakes, uint64 names, uint8 settles, uint8 n)
        public
        view
    {
        n = uint8(1 + (n % 7));
        address[6] memory universe = [address(0x1001), address(0x1002), address(0x1003), address(0x1004), address(0x1005), address(0x1006)];
        bytes[] memory reports = new bytes[](n);
        uint256[] memory weights = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            weights[i] = 1 + uint256(stakes[i]);
            for (uint256 s = 0; s < 6; ++s) {
                if ((names >> (6 * i + s)) & 1 == 1) reports[i] = abi.encodePacked(reports[i], universe[s], _acc(accs[i], s), uint32(1));
            }
        }
        uint256 m;
        for (uint256 s = 0; s < 6; ++s) if ((settles >> s) & 1 == 1) ++m;
        address[] memory servers = new address[](m);
        m = 0;
        for (uint256 s = 0; s < 6; ++s) if ((settles >> s) & 1 == 1) servers[m++] = universe[s];
        (uint256[] memory acc, uint256[] memory reported) = harness.mediansOf(reports, weights, servers);
        m = 0;
        for (uint256 s = 0; s < 6; ++s) {
            if ((settles >> s) & 1 == 0) continue;
            uint256[] memory va = new uint256[](n);
            uint256[] memory wa = new uint256[](n);
            uint256 k;
            uint256 total;
            for (uint256 i = 0; i < n; ++i) {
                if ((names >> (6 * i + s)) & 1 == 0) continue;
                (va[k], wa[k]) = (_acc(accs[i], s), weights[i]);
                total += weights[i];
                ++k;
            }
            assertEq(reported[m], total, "reported stake");
            assertEq(acc[m], k == 0 ? 0 : TrustMath.weightedMedian(va, wa, k), "accBps median");
            ++m;
        }
    }

    /// @dev Member-and-server specific accuracies, so a value counted for the wrong server shows.
    function _acc(uint16 seed, uint256 s) private pure returns (uint16) {
        return uint16((uint256(seed) * 7 + s * 1_667) % 10_001);
    }
}
