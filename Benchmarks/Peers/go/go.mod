module bulwark.local/peers/go

go 1.19

require (
	github.com/juju/ratelimit v1.0.1
	golang.org/x/time v0.3.0
)

// No network access to the Go module proxy: use the sources installed by the Debian packages
// golang-golang-x-time-dev and golang-github-juju-ratelimit-dev. Benchmarks/Peers/run rewrites
// these replaces (in a build copy): x/time to X_TIME_DIR, juju/ratelimit to a copy of its
// sources with a go.mod added (Debian's 1.0.1 has none).
replace golang.org/x/time => /usr/share/gocode/src/golang.org/x/time

replace github.com/juju/ratelimit => /usr/share/gocode/src/github.com/juju/ratelimit
