module github.com/bayeux-go/sdk/bench/compare/gobayeuxclient

go 1.26

require github.com/sigmavirus24/gobayeux/v2 v2.7.0

require (
	github.com/sirupsen/logrus v1.9.4 // indirect
	golang.org/x/net v0.50.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
)
