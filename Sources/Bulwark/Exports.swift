// The umbrella module: one import for every in-process Bulwark module.
@_exported public import BulwarkCore
@_exported public import BulwarkTokenBucket
