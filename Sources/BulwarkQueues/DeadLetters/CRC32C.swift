/// CRC-32C (Castagnoli), the checksum of each journal line: it detects every burst error up to
/// 32 bits and all but 2⁻³² of the rest, which is what telling a torn or damaged line from a good
/// one needs. Table-driven, one byte at a time.
enum CRC32C {
    private static let table: [UInt32] = (0 ..< 256).map { byte -> UInt32 in
        var crc = UInt32(byte)
        for _ in 0 ..< 8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    /// The checksum of `bytes`.
    static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
