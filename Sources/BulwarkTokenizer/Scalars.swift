/// What the pre-tokenizer asks of a scalar, as bits.
struct ScalarClass: OptionSet, Sendable {
    let rawValue: UInt16

    /// `\p{L}`: Lu, Ll, Lt, Lm, Lo.
    static let letter = ScalarClass(rawValue: 1 << 0)
    /// `\p{N}`: Nd, Nl, No.
    static let number = ScalarClass(rawValue: 1 << 1)
    /// `\s`: the White_Space property.
    static let space = ScalarClass(rawValue: 1 << 2)
    /// `\r` or `\n`.
    static let newline = ScalarClass(rawValue: 1 << 3)
    /// o200k's first word class: Lu, Lt, Lm, Lo, M.
    static let upper = ScalarClass(rawValue: 1 << 4)
    /// o200k's second word class: Ll, Lm, Lo, M.
    static let lower = ScalarClass(rawValue: 1 << 5)
    /// `[^\s\p{L}\p{N}]`: neither white space, a letter nor a number.
    static let other = ScalarClass(rawValue: 1 << 6)
    /// `/`.
    static let slash = ScalarClass(rawValue: 1 << 7)

    /// The class of `scalar`.
    static func of(_ scalar: Unicode.Scalar) -> ScalarClass {
        if scalar.value < 0x80 { return ascii[Int(scalar.value)] }
        let properties = scalar.properties
        if properties.isWhitespace { return .space }
        switch properties.generalCategory {
        case .uppercaseLetter, .titlecaseLetter: return [.letter, .upper]
        case .lowercaseLetter: return [.letter, .lower]
        case .modifierLetter, .otherLetter: return [.letter, .upper, .lower]
        case .nonspacingMark, .spacingMark, .enclosingMark: return [.other, .upper, .lower]
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// The classes of the 128 ASCII scalars, computed once.
    private static let ascii: [ScalarClass] = (0 ..< 128).map { value in
        let byte = UInt8(value)
        switch byte {
        case 0x0A, 0x0D: return [.space, .newline]
        case 0x09, 0x0B, 0x0C, 0x20: return .space
        case UInt8(ascii: "a") ... UInt8(ascii: "z"): return [.letter, .lower]
        case UInt8(ascii: "A") ... UInt8(ascii: "Z"): return [.letter, .upper]
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): return .number
        case UInt8(ascii: "/"): return [.other, .slash]
        default: return .other
        }
    }
}

/// A text decoded for the pre-tokenizer: its scalars, their classes and their UTF-8 offsets, each
/// padded past the end so that looking two scalars ahead needs no bounds check (a padding scalar
/// is 0 and has no class).
struct Scalars {
    /// How many scalars the text has.
    private(set) var count = 0
    /// The scalars' values, then two zeros.
    private(set) var scalars: [UInt32] = []
    /// The scalars' classes, then three empty ones.
    private(set) var classes: [ScalarClass] = []
    /// Each scalar's first byte in the UTF-8 text, then the text's length.
    private(set) var offsets: [Int] = []

    /// Decodes `text` (valid UTF-8, as a Swift string's bytes are).
    init(_ text: UnsafeBufferPointer<UInt8>) {
        scalars.reserveCapacity(text.count + 2)
        classes.reserveCapacity(text.count + 3)
        offsets.reserveCapacity(text.count + 1)
        var iterator = text.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while case .scalarValue(let scalar) = decoder.decode(&iterator) {
            scalars.append(scalar.value)
            classes.append(ScalarClass.of(scalar))
            offsets.append(offset)
            offset += UTF8.width(scalar)
        }
        count = scalars.count
        offsets.append(offset)
        scalars.append(contentsOf: [0, 0])
        classes.append(contentsOf: [[], [], []])
    }

    /// How many scalars from `start` on belong to `member`.
    func run(from start: Int, while member: ScalarClass) -> Int {
        var end = start
        while classes[end].contains(member) { end += 1 }
        return end - start
    }

    /// How many scalars from `start` on belong to `member`, counting at most `limit`.
    func run(from start: Int, while member: ScalarClass, upTo limit: Int) -> Int {
        var end = start
        while end - start < limit, classes[end].contains(member) { end += 1 }
        return end - start
    }

    /// How many scalars from `start` on belong to any class of `members`.
    func run(from start: Int, whileAny members: ScalarClass) -> Int {
        var end = start
        while !classes[end].isDisjoint(with: members) { end += 1 }
        return end - start
    }
}
