// What `import BulwarkFixedWindow` brings besides this module (the rule: docs/Architecture.md, "Imports").
@_exported public import BulwarkCore  // the vocabulary every module speaks
@_exported public import BulwarkEngine  // the in-memory engine its limiters and orders are built on
