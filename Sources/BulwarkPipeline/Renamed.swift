// The names this module's types had before they were renamed to say what they are (the rules:
// docs/Architecture.md, "Names"). Each still compiles, with a deprecation warning that names its
// replacement.
public import BulwarkCore

/// The former name of `ComposedPolicy`.
@available(*, deprecated, renamed: "ComposedPolicy")
public typealias Composed<Outer: ResiliencePolicy, Inner: ResiliencePolicy> = ComposedPolicy<Outer, Inner>
