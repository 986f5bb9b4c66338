// Command observability consumes a channel and serves the client's
// metrics in Prometheus text format at /metrics, through the
// OpenTelemetry Prometheus exporter and contrib/otel:
//
//	go run . -url http://127.0.0.1:8080/bayeux -channel '/orders/*' -metrics :9464
//	curl -s http://127.0.0.1:9464/metrics | grep messaging_client
//
// The client's counters (Register) and the subscription's, named by its
// pattern (RegisterSubscription), are read at each scrape; the handler
// time and delivery lag histograms are recorded by the extension (New).
package main
