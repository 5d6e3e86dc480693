module bulwark.local/peers/juju

go 1.19

require github.com/juju/ratelimit v1.0.1

// No network access to the Go module proxy: use the source installed by the
// Debian package golang-github-juju-ratelimit-dev. That directory has no go.mod,
// so Benchmarks/Peers/run copies its sources under .build-peers/juju-ratelimit,
// adds one, and rewrites this replace (in a build copy) to point there.
replace github.com/juju/ratelimit => /usr/share/gocode/src/github.com/juju/ratelimit
