module github.com/bayeux-go/sdk

go 1.26

require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0
	github.com/google/go-cmp v0.7.0
	github.com/gorilla/websocket v1.5.3
	go.uber.org/goleak v1.3.0
)
