module github.com/bayeux-go/sdk/cmd/bayeux

go 1.26.0

replace github.com/bayeux-go/sdk => ../..

require (
	github.com/bayeux-go/sdk v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
)

require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
)
