// What `import BulwarkRedis` brings besides this module (the rule: docs/Architecture.md, "Imports").
@_exported public import BulwarkCore  // the vocabulary every module speaks
@_exported public import BulwarkRedisClient  // the RESP client its limiters take
