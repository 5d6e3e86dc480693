import NIOCore
import Testing

@testable import BulwarkRedis

@Suite("RESP parser")
struct RESPParserTests {
    @Test("every RESP2 and RESP3 type, split at every byte")
    func everyTypeAtEverySplit() throws {
        let wire = "+OK\r\n-ERR bad\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n:1\r\n$1\r\nx\r\n_\r\n#t\r\n,1.5\r\n(12345678901234567890\r\n"
            + "%1\r\n+k\r\n:7\r\n~1\r\n:9\r\n>2\r\n+push\r\n:1\r\n=8\r\ntxt:abcd\r\n!3\r\nbad\r\n|1\r\n+a\r\n+b\r\n:5\r\n"
        let expected: [RESPValue] = [
            .simpleString("OK"), .error("ERR bad"), .integer(42), .bulkString(ByteBuffer(string: "hello")), .null,
            .array([.integer(1), .bulkString(ByteBuffer(string: "x"))]), .null, .boolean(true), .double(1.5),
            .bigNumber("12345678901234567890"), .map([RESPPair(key: .simpleString("k"), value: .integer(7))]),
            .array([.integer(9)]), .bulkString(ByteBuffer(string: "abcd")), .error("bad"), .integer(5),
        ]
        let bytes = Array(wire.utf8)
        for split in 0...bytes.count {
            var parser = RESPParser()
            var buffer = ByteBuffer(bytes: bytes[..<split])
            var values: [RESPValue] = []
            while let value = try parser.next(&buffer) { values.append(value) }
            buffer.writeBytes(bytes[split...])
            while let value = try parser.next(&buffer) { values.append(value) }
            #expect(values == expected, "split at \(split)")
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test("garbage is a protocol error, not a crash")
    func garbage() {
        var parser = RESPParser()
        var buffer = ByteBuffer(string: "?what\r\n")
        #expect(throws: RESPParser.ParseError.self) { try parser.next(&buffer) }
        var bad = ByteBuffer(string: ":12x\r\n")
        #expect(throws: RESPParser.ParseError.self) { try parser.next(&bad) }
    }

    @Test("SHA-1 matches Redis' script names")
    func sha1() {
        #expect(RedisScript("return 1").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
        #expect(SHA1.hex([]) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hex(Array(String(repeating: "a", count: 1000).utf8)) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
    }

    @Test("key slots follow Redis Cluster's CRC16 and hash tags")
    func keySlots() {
        #expect(RedisKeySlot.of("123456789") == 0x31C3 % 16384)
        #expect(RedisKeySlot.of("{user1000}.following") == RedisKeySlot.of("{user1000}.followers"))
        #expect(RedisKeySlot.of("foo{}{bar}") == RedisKeySlot.of("foo{}{bar}"))
        #expect(RedisKeySlot.of("foo{}{bar}") != RedisKeySlot.of("bar"))
        #expect(RedisKeySlot.of("foo{{bar}}zap") == RedisKeySlot.of("{bar"))
    }
}
