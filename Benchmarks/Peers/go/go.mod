module bulwark.local/peers/go

go 1.19

require (
	github.com/juju/ratelimit v1.0.1
	golang.org/x/time v0.3.0
	gopkg.in/eapache/go-resiliency.v1 v1.2.0
)

// No network access to the Go module proxy: use the sources installed by the Debian packages
// golang-golang-x-time-dev, golang-github-juju-ratelimit-dev and
// golang-gopkg-eapache-go-resiliency.v1-dev. Benchmarks/Peers/run rewrites these replaces (in a
// build copy): x/time to X_TIME_DIR, juju/ratelimit and go-resiliency to copies of their sources
// with a go.mod added (Debian's juju 1.0.1 and go-resiliency 1.2.0 have none).
replace golang.org/x/time => /usr/share/gocode/src/golang.org/x/time

replace github.com/juju/ratelimit => /usr/share/gocode/src/github.com/juju/ratelimit

replace gopkg.in/eapache/go-resiliency.v1 => /usr/share/gocode/src/gopkg.in/eapache/go-resiliency.v1
