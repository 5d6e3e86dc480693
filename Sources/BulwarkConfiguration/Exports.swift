// What `import BulwarkConfiguration` brings besides this module (the rule: docs/Architecture.md, "Imports").
@_exported public import BulwarkCore  // the vocabulary every module speaks
@_exported public import BulwarkPipeline  // the pipelines a configuration builds
