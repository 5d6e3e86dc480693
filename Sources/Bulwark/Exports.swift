// The umbrella module: one import for every in-process Bulwark module.
@_exported public import BulwarkAdaptive
@_exported public import BulwarkBudget
@_exported public import BulwarkChain
@_exported public import BulwarkCircuitBreaker
@_exported public import BulwarkConcurrency
@_exported public import BulwarkCore
@_exported public import BulwarkFallback
@_exported public import BulwarkFixedWindow
@_exported public import BulwarkGCRA
@_exported public import BulwarkLeakyBucket
@_exported public import BulwarkPartitioned
@_exported public import BulwarkPipeline
@_exported public import BulwarkRetry
@_exported public import BulwarkSlidingWindow
@_exported public import BulwarkTimeout
@_exported public import BulwarkTokenBucket
@_exported public import BulwarkQueues
