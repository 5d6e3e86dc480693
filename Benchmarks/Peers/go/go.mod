module bulwark.local/peers/go

go 1.19

require golang.org/x/time v0.3.0

// No network access to the Go module proxy: use the source installed by the
// Debian package golang-golang-x-time-dev. Benchmarks/Peers/run rewrites this
// replace (in a build copy) if X_TIME_DIR points elsewhere.
replace golang.org/x/time => /usr/share/gocode/src/golang.org/x/time
