// What `import BulwarkHummingbird` brings besides this module (the rule: docs/Architecture.md, "Imports").
@_exported public import BulwarkCore  // the vocabulary every module speaks
@_exported public import BulwarkHTTP  // the framework-free pieces its middleware is made of
