/// The pre-tokenization of tiktoken's encodings: the text cut into pieces by the encoding's
/// regular expression before byte-pair merging, written out as code rather than run through a
/// regular-expression engine.
///
/// Each `match…` function below is one alternative of the pattern, in the pattern's order, and
/// returns the length (in scalars) of its match at a position, or 0. The first alternative that
/// matches wins, as in the backtracking engine tiktoken runs (Rust's fancy-regex); where an
/// alternative can backtrack, its comment says which match that engine settles on and why.
///
/// Character classes are Unicode's, read from the scalar's properties: `\p{L}` letters (`Lu Ll Lt
/// Lm Lo`), `\p{N}` numbers (`Nd Nl No`), `\p{M}` marks, `\s` the White_Space property.
struct PreTokenizer: Sendable {
    /// Which pattern.
    enum Pattern: Sendable {
        /// cl100k_base:
        /// `'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s`
        case cl100k
        /// o200k_base, one alternative per line:
        ///
        ///     [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
        ///     [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
        ///     \p{N}{1,3}
        ///      ?[^\s\p{L}\p{N}]+[\r\n/]*
        ///     \s*[\r\n]+
        ///     \s+(?!\S)
        ///     \s+
        case o200k
    }

    let pattern: Pattern

    /// Calls `body` with the UTF-8 byte range of each piece of `text`, in order.
    func forEachPiece(_ text: Scalars, _ body: (Range<Int>) -> Void) {
        var position = 0
        while position < text.count {
            let length = pattern == .cl100k ? cl100k(text, position) : o200k(text, position)
            body(text.offsets[position] ..< text.offsets[position + length])
            position += length
        }
    }

    // MARK: cl100k_base

    private func cl100k(_ t: Scalars, _ p: Int) -> Int {
        if let n = cl100kContraction(t, p) { return n }
        // [^\r\n\p{L}\p{N}]?+\p{L}++ : the optional character is possessive, so when it is taken
        // and no letter follows, the alternative fails (a letter cannot be the optional one).
        let c = t.classes[p]
        if c.contains(.letter) { return t.run(from: p, while: .letter) }
        if c.isDisjoint(with: [.letter, .number, .newline]), t.classes[p + 1].contains(.letter) {
            return 1 + t.run(from: p + 1, while: .letter)
        }
        // \p{N}{1,3}+
        if c.contains(.number) { return t.run(from: p, while: .number, upTo: 3) }
        if let n = punctuation(t, p, trailing: .newline) { return n }
        return whitespace(t, p, endRun: true)
    }

    /// `'(?i:[sdmt]|ll|ve|re)` at `p`.
    private func cl100kContraction(_ t: Scalars, _ p: Int) -> Int? {
        guard t.scalars[p] == 0x27 else { return nil }
        let a = Self.folded(t.scalars[p + 1])
        if a == 0x73 || a == 0x64 || a == 0x6D || a == 0x74 { return 2 }
        let b = Self.folded(t.scalars[p + 2])
        if (a == 0x6C && b == 0x6C) || (a == 0x76 && b == 0x65) || (a == 0x72 && b == 0x65) { return 3 }
        return nil
    }

    // MARK: o200k_base

    private func o200k(_ t: Scalars, _ p: Int) -> Int {
        let c = t.classes[p]
        // The optional leading character [^\r\n\p{L}\p{N}]? is tried taken first, then not.
        let optional = c.isDisjoint(with: [.letter, .number, .newline])
        if optional, let n = o200kLowerWord(t, p + 1) { return 1 + n }
        if let n = o200kLowerWord(t, p) { return n }
        if optional, let n = o200kUpperWord(t, p + 1) { return 1 + n }
        if let n = o200kUpperWord(t, p) { return n }
        if c.contains(.number) { return t.run(from: p, while: .number, upTo: 3) }
        if let n = punctuation(t, p, trailing: [.newline, .slash]) { return n }
        return whitespace(t, p, endRun: false)
    }

    /// `[U]*[W]+(?i:'s|…)?` at `p`, U = `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`, W = `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`.
    ///
    /// `U*` takes its longest run, then gives back one scalar at a time until a `W` follows (`Lm`,
    /// `Lo` and `M` are in both classes); `W+` then takes its longest run, and the optional
    /// contraction cannot fail: that is the engine's first success.
    private func o200kLowerWord(_ t: Scalars, _ p: Int) -> Int? {
        let upper = t.run(from: p, while: .upper)
        var split = upper
        while true {
            if t.classes[p + split].contains(.lower) {
                let end = p + split + t.run(from: p + split, while: .lower)
                return end - p + contraction(t, end)
            }
            if split == 0 { return nil }
            split -= 1
        }
    }

    /// `[U]+[W]*(?i:'s|…)?` at `p`: both runs greedy, and nothing after them can fail.
    private func o200kUpperWord(_ t: Scalars, _ p: Int) -> Int? {
        let upper = t.run(from: p, while: .upper)
        guard upper > 0 else { return nil }
        let end = p + upper + t.run(from: p + upper, while: .lower)
        return end - p + contraction(t, end)
    }

    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)?` at `p`: its length, 0 when none.
    private func contraction(_ t: Scalars, _ p: Int) -> Int {
        guard t.scalars[p] == 0x27 else { return 0 }
        let a = Self.folded(t.scalars[p + 1])
        if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return 2 }
        let b = Self.folded(t.scalars[p + 2])
        if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return 3 }
        return 0
    }

    // MARK: Shared alternatives

    /// ` ?[^\s\p{L}\p{N}]+` then a run of `trailing` (`[\r\n]*` or `[\r\n/]*`): the space is taken
    /// only when a punctuation scalar follows it (without it the alternative cannot start at a
    /// space, which is white space).
    private func punctuation(_ t: Scalars, _ p: Int, trailing: ScalarClass) -> Int? {
        var start = p
        if t.scalars[p] == 0x20, t.classes[p + 1].contains(.other) { start = p + 1 }
        guard t.classes[start].contains(.other) else { return nil }
        let end = start + t.run(from: start, while: .other)
        return end - p + t.run(from: end, whileAny: trailing)
    }

    /// The white-space alternatives, at a white-space scalar `p` (every other scalar matched
    /// before). With `endRun` (cl100k's `\s++$`), a run that reaches the end is one piece. Then
    /// `\s*[\r\n]` (cl100k) or `\s*[\r\n]+` (o200k), both ending at the run's last line break;
    /// then `\s+(?!\S)`, the run less its last scalar when text follows; then one scalar.
    private func whitespace(_ t: Scalars, _ p: Int, endRun: Bool) -> Int {
        let run = t.run(from: p, while: .space)
        if endRun, p + run == t.count { return run }
        var last = run
        while last > 0 {
            if t.classes[p + last - 1].contains(.newline) { return last }
            last -= 1
        }
        if p + run == t.count { return run }
        return run > 1 ? run - 1 : 1
    }

    /// An ASCII letter in lower case, and `ſ` (U+017F, which folds to `s`), for the
    /// case-insensitive contractions; anything else unchanged.
    private static func folded(_ scalar: UInt32) -> UInt32 {
        if scalar >= 0x41 && scalar <= 0x5A { return scalar | 0x20 }
        return scalar == 0x17F ? 0x73 : scalar
    }
}
