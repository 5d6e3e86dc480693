// What `import BulwarkLifecycle` brings besides this module (the rule: docs/Architecture.md, "Imports").
@_exported public import BulwarkCore  // the vocabulary every module speaks
@_exported public import BulwarkMonitors  // the module whose type it extends (PeriodicWork)
