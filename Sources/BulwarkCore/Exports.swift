// Core builds on the package-internal primitives and hands them on to every module that imports it
// (they are `package`: a user of the library sees none of them).
@_exported public import BulwarkPrimitives
