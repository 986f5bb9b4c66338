module github.com/bayeux-go/sdk/examples/salesforce-cdc

go 1.26.0

replace (
	github.com/bayeux-go/sdk => ../..
	github.com/bayeux-go/sdk/contrib/salesforce => ../../contrib/salesforce
)

require (
	github.com/bayeux-go/sdk v0.0.0-00010101000000-000000000000
	github.com/bayeux-go/sdk/contrib/salesforce v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
)

require (
	github.com/gorilla/websocket v1.5.3 // indirect
	golang.org/x/oauth2 v0.38.0 // indirect
)
