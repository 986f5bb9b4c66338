module github.com/bayeux-go/sdk/contrib/otel

go 1.26.0

replace github.com/bayeux-go/sdk => ../..

require (
	github.com/bayeux-go/sdk v0.0.0-00010101000000-000000000000
	go.opentelemetry.io/otel v1.47.0
	go.opentelemetry.io/otel/metric v1.47.0
)

require github.com/cespare/xxhash/v2 v2.3.0 // indirect
