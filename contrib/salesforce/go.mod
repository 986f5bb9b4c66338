module github.com/bayeux-go/sdk/contrib/salesforce

go 1.26.0

replace github.com/bayeux-go/sdk => ../..

require (
	github.com/bayeux-go/sdk v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
	golang.org/x/oauth2 v0.38.0
)

require github.com/gorilla/websocket v1.5.3 // indirect
