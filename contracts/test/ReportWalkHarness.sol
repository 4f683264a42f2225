// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ReportWalk} from "../libraries/ReportWalk.sol";

/// @notice Exposes ReportWalk over calldata reports, as the settlement uses it.
contract ReportWalkHarness {
    using ReportWalk for ReportWalk.Walk;

    function medianOf(bytes[] calldata reports, uint256[] calldata stakes, address server)
        external
        pure
        returns (uint256 acc, uint256 tokens, uint256 reported)
    {
        ReportWalk.Walk memory w = _walk(reports, stakes);
        return w.median(server);
    }

    /// @notice The walk over a batch: `servers` (increasing) in turn, one cursor per report.
    function mediansOf(bytes[] calldata reports, uint256[] calldata stakes, address[] calldata servers)
        external
        pure
        returns (uint256[] memory acc, uint256[] memory reported)
    {
        ReportWalk.Walk memory w = _walk(reports, stakes);
        acc = new uint256[](servers.length);
        reported = new uint256[](servers.length);
        for (uint256 j = 0; j < servers.length; ++j) (acc[j],, reported[j]) = w.median(servers[j]);
    }

    function _walk(bytes[] calldata reports, uint256[] calldata stakes) private pure returns (ReportWalk.Walk memory w) {
        w = ReportWalk.open(reports.length);
        for (uint256 i = 0; i < reports.length; ++i) {
            bytes calldata r = reports[i];
            uint256 offset;
            assembly ("memory-safe") {
                offset := r.offset
            }
            w.add(i, stakes[i], offset, r.length);
        }
    }
}
