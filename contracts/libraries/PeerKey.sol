// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title PeerKey
/// @notice The Ethereum-style address of the secp256k1 key inside a libp2p peer id. Only the
/// identity multihash of a protobuf secp256k1 public key is accepted:
/// `0x00 0x25 0x08 0x02 0x12 0x21 ‖ 33-byte compressed point` (39 bytes).
library PeerKey {
    uint256 internal constant P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;
    bytes6 internal constant PREFIX = 0x002508021221;

    enum Result {
        Ok,
        Unsupported, // not the identity multihash of a secp256k1 key
        NotOnCurve
    }

    /// @notice `address(keccak256(x ‖ y))` of the key in `peerId`, or why there is none.
    function signerOf(bytes calldata peerId) internal view returns (address signer, Result result) {
        if (peerId.length != 39 || bytes6(peerId[0:6]) != PREFIX) return (address(0), Result.Unsupported);
        uint8 parity = uint8(peerId[6]);
        if (parity != 2 && parity != 3) return (address(0), Result.Unsupported);
        uint256 x = uint256(bytes32(peerId[7:39]));
        if (x >= P) return (address(0), Result.NotOnCurve);
        uint256 y2 = addmod(mulmod(mulmod(x, x, P), x, P), 7, P);
        uint256 y = _sqrt(y2);
        if (mulmod(y, y, P) != y2) return (address(0), Result.NotOnCurve);
        if (y & 1 != parity & 1) y = P - y; // y ≠ 0: 7 is not a cube mod P
        signer = address(uint160(uint256(keccak256(abi.encodePacked(x, y)))));
    }

    /// @dev y2^((P+1)/4) mod P with the modexp precompile (0x05): a square root when one exists.
    function _sqrt(uint256 y2) private view returns (uint256 y) {
        uint256 e = (P + 1) / 4;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0x20)
            mstore(add(m, 0x20), 0x20)
            mstore(add(m, 0x40), 0x20)
            mstore(add(m, 0x60), y2)
            mstore(add(m, 0x80), e)
            mstore(add(m, 0xa0), P)
            if iszero(staticcall(gas(), 0x05, m, 0xc0, m, 0x20)) { revert(0, 0) }
            y := mload(m)
        }
    }
}
