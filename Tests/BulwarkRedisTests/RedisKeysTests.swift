import BulwarkCore
import Testing

@testable import BulwarkRedis

@Suite("Redis keys")
struct RedisKeysTests {
    @Test("unique ids are 32 lowercase hex digits, leading zeros kept, and do not repeat")
    func uniqueIDs() {
        let ids = (0..<10_000).map { _ in RedisKeys.uniqueID() }
        let hex = Set("0123456789abcdef")
        #expect(ids.allSatisfy { $0.count == 32 && $0.allSatisfy(hex.contains) })
        #expect(Set(ids).count == ids.count)
        // With 10,000 ids, some first digit is 0 almost surely (1 − (15/16)^10000): padding shows.
        #expect(ids.contains { $0.hasPrefix("0") })
    }

    @Test("keys put the subject in a hash tag, with braces in names replaced")
    func keyScheme() {
        let keys = RedisKeys(prefix: "api")
        #expect(keys.key(scope: .user("4{2}"), limit: "rpm") == "api:{user:4(2)}:rpm")
        #expect(keys.key(scope: .user("42"), limit: "rpm", shard: 3) == "api:{user:42#3}:rpm")
    }
}
