// What `import BulwarkHealth` brings besides this module (the rule: docs/Architecture.md, "Imports").
@_exported public import BulwarkCore  // the vocabulary every module speaks
@_exported public import BulwarkMonitors  // the monitors its policies read
